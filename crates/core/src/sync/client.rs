//! The HTTP side of sync: JSON requests to `hms-server` (see `hms-protocol`), over rustls.

use super::SyncError;
use hms_protocol::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// A request that takes longer than this fails (and is retried by the next sync).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// The server address as stored: `http(s)://host[:port][/prefix]` without a trailing slash.
pub(crate) fn normalise_url(raw: &str) -> Result<String, SyncError> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| SyncError::InvalidUrl("the server address must start with https:// (or http:// on a trusted network)".into()))?;
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

    pub(crate) async fn get<R: DeserializeOwned>(&self, path_and_query: &str) -> Result<R, SyncError> {
        let mut req = self.http.get(format!("{}{path_and_query}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        answer(req.send().await).await
    }
}

async fn answer<R: DeserializeOwned>(sent: reqwest::Result<reqwest::Response>) -> Result<R, SyncError> {
    // without_url: reqwest's messages would otherwise repeat the address with its query.
    let res = sent.map_err(|e| SyncError::Network(e.without_url().to_string()))?;
    let status = res.status();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| SyncError::Network(e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SyncError::Protocol(format!("unexpected answer from the server: {e}")));
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => Err(SyncError::Server { status: status.as_u16(), code: Some(body.code), message: body.message }),
        Err(_) => Err(SyncError::Server {
            status: status.as_u16(),
            code: None,
            message: format!("HTTP {status} without an HMS error body (is this address an HMS server?)"),
        }),
    }
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
