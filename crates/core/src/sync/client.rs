//! The HTTP side of sync: JSON requests to `hms-server` (see `hms-protocol`), over rustls.

use super::SyncError;
use hms_protocol::{ErrorBody, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// A request that takes longer than this fails (and is retried by the next sync).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// The server address as stored: `http(s)://host[:port][/prefix]` without a trailing slash.
pub(crate) fn normalise_url(raw: &str) -> Result<String, SyncError> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(|| {
        SyncError::InvalidUrl("the server address must start with https:// (or http:// on a trusted network)".into())
    })?;
    if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains(['?', '#', '@']) {
        return Err(SyncError::InvalidUrl(format!("{url:?} is not a server address")));
    }
    Ok(url.to_string())
}

impl Client {
    pub(crate) fn new(base: &str, token: Option<String>) -> Result<Client, SyncError> {
        // reqwest is built without a crypto provider (no aws-lc C build): use ring's. A
        // provider installed earlier (by this or another part of the process) stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| SyncError::Network(format!("cannot set up HTTPS: {e}")))?;
        Ok(Client { http, base: base.to_string(), token })
    }

    pub(crate) async fn post<B: Serialize, R: DeserializeOwned>(&self, path: &str, body: &B) -> Result<R, SyncError> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        answer(req.send().await).await
    }

    /// [`Client::post`] for a push: a refusal that lists the changes refused
    /// (`forbidden_change`, `change_too_large`) comes back as `Ok(Err(body))` for the caller
    /// to set those aside; any other failure is an error.
    pub(crate) async fn post_refusable<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Result<R, ErrorBody>, SyncError> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.map_err(|e| SyncError::Network(e.without_url().to_string()))?;
        let status = res.status();
        let retry = retry_after(&res);
        let bytes = res.bytes().await.map_err(|e| SyncError::Network(e.without_url().to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(Ok)
                .map_err(|e| SyncError::Protocol(format!("unexpected answer from the server: {e}")));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body)
                if matches!(
                    body.code,
                    ErrorCode::ForbiddenChange | ErrorCode::ChangeTooLarge | ErrorCode::BadUserProof
                ) && !body.refused.is_empty() =>
            {
                Ok(Err(body))
            }
            _ => Err(error_of(status, retry, &bytes)),
        }
    }

    pub(crate) async fn get<R: DeserializeOwned>(&self, path_and_query: &str) -> Result<R, SyncError> {
        let mut req = self.http.get(format!("{}{path_and_query}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        answer(req.send().await).await
    }

    /// `PUT` of raw bytes (an attachment file); the JSON answer is not needed.
    pub(crate) async fn put_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<(), SyncError> {
        let mut req = self
            .http
            .put(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        raw_answer(req.send().await).await.map(|_| ())
    }

    /// `GET` of raw bytes; `None` when the server answers 404 (it does not have them).
    pub(crate) async fn get_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, SyncError> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        match raw_answer(req.send().await).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(SyncError::Server { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The body of a successful answer as it came, or the error of a failed one.
async fn raw_answer(sent: reqwest::Result<reqwest::Response>) -> Result<Vec<u8>, SyncError> {
    let res = sent.map_err(|e| SyncError::Network(e.without_url().to_string()))?;
    let status = res.status();
    let retry = retry_after(&res);
    let bytes = res.bytes().await.map_err(|e| SyncError::Network(e.without_url().to_string()))?;
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    Err(error_of(status, retry, &bytes))
}

fn error_of(status: reqwest::StatusCode, retry_after_secs: Option<u64>, bytes: &[u8]) -> SyncError {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) => SyncError::Server {
            status: status.as_u16(),
            code: Some(body.code),
            message: body.message,
            retry_after_secs,
        },
        Err(_) => SyncError::Server {
            status: status.as_u16(),
            code: None,
            message: format!("HTTP {status} without an HMS error body (is this address an HMS server?)"),
            retry_after_secs,
        },
    }
}

/// A `Retry-After` in seconds (the form hms-server sends; a date is ignored).
fn retry_after(res: &reqwest::Response) -> Option<u64> {
    res.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

async fn answer<R: DeserializeOwned>(sent: reqwest::Result<reqwest::Response>) -> Result<R, SyncError> {
    // without_url: reqwest's messages would otherwise repeat the address with its query.
    let res = sent.map_err(|e| SyncError::Network(e.without_url().to_string()))?;
    let status = res.status();
    let retry = retry_after(&res);
    let bytes = res.bytes().await.map_err(|e| SyncError::Network(e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SyncError::Protocol(format!("unexpected answer from the server: {e}")));
    }
    Err(error_of(status, retry, &bytes))
}

#[cfg(test)]
mod tests {
    use super::normalise_url;

    #[test]
    fn server_addresses_are_http_or_https_without_extras() {
        assert_eq!(normalise_url(" https://hms.clinic.lan:8443/ ").unwrap(), "https://hms.clinic.lan:8443");
        assert_eq!(normalise_url("http://127.0.0.1:9000").unwrap(), "http://127.0.0.1:9000");
        for bad in ["", "hms.clinic.lan", "ftp://x", "https://", "https://a b", "https://x/?q=1", "https://user@x"] {
            assert!(normalise_url(bad).is_err(), "{bad:?}");
        }
    }
}
