//! A simulated device for the sync tests: an hms-core store on its own temporary SQLite file
//! with a signed-in administrator, enrolled through any server address (the server itself or
//! the faulty proxy in front of it), plus a canonical dump of its synced tables.

use hms_core::setup::{self, NewAdmin};
use hms_core::sync;
use hms_core::users::{self, NewUser, UserSummary};
use hms_core::{Authorized, SessionSlot, Store};
use std::collections::BTreeMap;

pub const PW: &str = "Clinic#2026adm";
/// The temporary password an administrator gives a new account in these tests.
pub const TEMPORARY_PW: &str = "Given#2026temp";

/// A new account made by `admin`, whose owner then signs in on `store` with the temporary
/// password an administrator sets and changes it to `user.password` (a password an
/// administrator chose must be changed before anything else): afterwards the user signs in
/// with `user.password` and works, here and, once synced, elsewhere. The summary returned is
/// the one made (still marked temporary).
pub async fn new_user(store: &Store, admin: &Authorized, user: NewUser) -> UserSummary {
    let own = user.password.clone();
    let made = users::create(store, admin, NewUser { password: TEMPORARY_PW.into(), ..user }).await.unwrap();
    assert!(made.must_change_password, "an administrator's password is temporary");
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(store, &slot, &made.username, TEMPORARY_PW).await.unwrap();
    users::change_own_password(store, &slot, TEMPORARY_PW, &own).await.unwrap();
    made
}

/// Columns of synced tables that never travel (see `hms_core::sync::apply`).
const LOCAL_COLUMNS: &[&str] = &["pk"];

pub struct Device {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub slot: SessionSlot,
    pub username: String,
}

impl Device {
    /// A new store with its own first administrator (`username` differs per device of a
    /// tenant: the accounts sync too, and usernames are unique in the tenant).
    pub async fn new(username: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let slot = SessionSlot::default();
        setup::setup_first_admin(
            &store,
            &slot,
            NewAdmin { username: username.into(), full_name: format!("Admin {username}"), password: PW.into() },
        )
        .await
        .unwrap();
        Device { dir, store, slot, username: username.into() }
    }

    pub async fn auth(&self) -> Authorized {
        self.slot.authorize(&self.store).await.unwrap()
    }

    /// [`new_user`] by this device's administrator.
    pub async fn new_user(&self, user: NewUser) -> UserSummary {
        new_user(&self.store, &self.auth().await, user).await
    }

    /// Enrols through `base` (the server, or a proxy in front of it) into `tenant`.
    pub async fn enrol(
        &self,
        server: impl Into<hms_server::Storage>,
        base: &str,
        tenant: &str,
        name: &str,
    ) -> sync::Enrolment {
        let code = hms_server::admin::create_enrol_code(server, tenant, chrono::Duration::hours(1)).await.unwrap();
        sync::enrol(&self.store, &self.auth().await, base, &code.code, name).await.unwrap()
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.store.pool()).await.unwrap()
    }

    /// Every synced table as `table -> [row as canonical JSON, ordered by id]`, with only
    /// the columns that sync (local-only ones left out).
    pub async fn dump(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for (table, id_col) in sync::rows::SYNCED.iter() {
            let cols: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY name"))
                    .fetch_all(self.store.pool())
                    .await
                    .unwrap();
            let pairs: Vec<String> = cols
                .iter()
                .filter(|c| !LOCAL_COLUMNS.contains(&c.as_str()))
                .map(|c| format!("'{c}', \"{c}\""))
                .collect();
            if pairs.is_empty() {
                continue;
            }
            let rows: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT json_object({}) FROM \"{table}\" ORDER BY \"{id_col}\"",
                pairs.join(", ")
            ))
            .fetch_all(self.store.pool())
            .await
            .unwrap();
            out.insert(table.to_string(), rows);
        }
        out
    }
}

/// What differs between two dumps, table by table (empty when they are identical).
pub fn dump_diff(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut diffs = Vec::new();
    for (table, rows_a) in a {
        let rows_b = b.get(table).cloned().unwrap_or_default();
        if *rows_a == rows_b {
            continue;
        }
        let only_a: Vec<&String> = rows_a.iter().filter(|r| !rows_b.contains(r)).collect();
        let only_b: Vec<&String> = rows_b.iter().filter(|r| !rows_a.contains(r)).collect();
        diffs.push(format!("{table}: only in first {only_a:#?}\n  only in second {only_b:#?}"));
    }
    diffs
}

impl Device {
    /// Registers `n` plain patients in batches of 1,000 (one transaction and one outbox
    /// batch each, a change per patient once pushed): a big outbox, or a big tenant.
    pub async fn bulk_patients(&self, n: usize) {
        use hms_core::patients::{bulk, validate, PatientInput};
        let auth = self.auth().await;
        let today = self.store.now().date_naive();
        let mut done = 0;
        while done < n {
            let size = (n - done).min(1_000);
            let batch = (done..done + size)
                .map(|i| {
                    let input = PatientInput {
                        given_name: format!("Given{}", letters(i)),
                        family_name: format!("Family{}", letters(i / 7)),
                        sex: "unknown".into(),
                        phones: vec![format!("+255 7{:02} {:03} {:03}", i % 100, (i / 100) % 1000, i % 1000)],
                        ..Default::default()
                    };
                    validate::clean(&input, today).unwrap()
                })
                .collect();
            bulk::register_batch(&self.store, &auth, batch, "test").await.unwrap();
            done += size;
        }
    }
}

/// A number as letters (names take no digits): 0 -> "a", 27 -> "bb".
fn letters(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}
