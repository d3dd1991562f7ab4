//! Reading and writing the `users` table. Writes go through a [`WriteTx`] so that the change
//! log gets the row as it now stands.

use crate::error::{Error, Result};
use crate::rbac::Role;
use crate::store::{ChangeOp, WriteTx};
use serde::Serialize;
use sqlx::{Row, SqlitePool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub password_hash: String,
    pub roles: Vec<Role>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The public half of the account's signing key (hex), `None` before its first sign-in
    /// with keys (see `auth::keys`).
    pub user_key: Option<String>,
    /// The salt the key is derived from the password with (hex).
    pub key_salt: Option<String>,
    /// The password was set by an administrator: the owner must change it at sign-in.
    pub must_change_password: bool,
}

/// The row as synced (every column of `users`).
#[derive(Serialize)]
struct SyncedRow<'a> {
    id: &'a str,
    username: &'a str,
    full_name: &'a str,
    password_hash: &'a str,
    roles: &'a [Role],
    active: bool,
    user_key: Option<&'a str>,
    key_salt: Option<&'a str>,
    must_change_password: bool,
    created_at: &'a str,
    updated_at: &'a str,
    updated_by: Option<&'a str>,
    origin_device: &'a str,
    deleted_at: Option<&'a str>,
}

const COLUMNS: &str =
    "id, username, full_name, password_hash, roles, active, created_at, updated_at, user_key, key_salt, must_change_password";

pub(crate) fn encode_roles(roles: &[Role]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".into())
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<UserRow> {
    let id: String = row.try_get("id")?;
    let roles_json: String = row.try_get("roles")?;
    // Unknown role codes (from a newer version, via sync) are ignored rather than fatal; a
    // list that is not JSON is a damaged row.
    let codes: Vec<String> = crate::store::stored::json("users", &id, "roles", &roles_json)?;
    Ok(UserRow {
        id,
        username: row.try_get("username")?,
        full_name: row.try_get("full_name")?,
        password_hash: row.try_get("password_hash")?,
        roles: codes.iter().filter_map(|c| Role::from_code(c)).collect(),
        active: row.try_get::<i64, _>("active")? == 1,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        user_key: row.try_get("user_key")?,
        key_salt: row.try_get("key_salt")?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? == 1,
    })
}

pub async fn by_id<'e, E>(exec: E, id: &str) -> Result<Option<UserRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ? AND deleted_at IS NULL");
    sqlx::query(&sql).bind(id).fetch_optional(exec).await?.as_ref().map(from_row).transpose()
}

pub async fn by_username<'e, E>(exec: E, username: &str) -> Result<Option<UserRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username = ? AND deleted_at IS NULL");
    sqlx::query(&sql).bind(username).fetch_optional(exec).await?.as_ref().map(from_row).transpose()
}

pub async fn all(pool: &SqlitePool) -> Result<Vec<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE deleted_at IS NULL ORDER BY username");
    sqlx::query(&sql).fetch_all(pool).await?.iter().map(from_row).collect()
}

pub async fn count(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?)
}

/// Active administrators other than `except`.
pub async fn other_active_admins(w: &mut WriteTx<'_>, except: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users, json_each(users.roles) r
         WHERE r.value = 'admin' AND users.active = 1 AND users.deleted_at IS NULL AND users.id <> ?",
    )
    .bind(except)
    .fetch_one(w.conn())
    .await?)
}

/// Writes the row (insert or full update) and its change-log entry.
pub async fn save(w: &mut WriteTx<'_>, u: &UserRow, op: ChangeOp) -> Result<()> {
    let stamp = w.stamp();
    let device = w.device_id().to_string();
    let by = w.actor().user_id.clone();
    // An update sends only the fields it changes (see `WriteTx::record_update`).
    let before = if op == ChangeOp::Update { by_id(w.conn(), &u.id).await? } else { None };
    let roles = encode_roles(&u.roles);
    match op {
        ChangeOp::Insert => {
            sqlx::query(
                "INSERT INTO users (id, username, full_name, password_hash, roles, active, user_key, key_salt,
                                    must_change_password, created_at, updated_at, updated_by, origin_device)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&u.id)
            .bind(&u.username)
            .bind(&u.full_name)
            .bind(&u.password_hash)
            .bind(&roles)
            .bind(i64::from(u.active))
            .bind(&u.user_key)
            .bind(&u.key_salt)
            .bind(i64::from(u.must_change_password))
            .bind(&u.created_at)
            .bind(&stamp)
            .bind(&by)
            .bind(&device)
            .execute(w.conn())
            .await?;
        }
        ChangeOp::Update => {
            sqlx::query(
                "UPDATE users SET username = ?, full_name = ?, password_hash = ?, roles = ?, active = ?,
                 user_key = ?, key_salt = ?, must_change_password = ?, updated_at = ?, updated_by = ? WHERE id = ?",
            )
            .bind(&u.username)
            .bind(&u.full_name)
            .bind(&u.password_hash)
            .bind(&roles)
            .bind(i64::from(u.active))
            .bind(&u.user_key)
            .bind(&u.key_salt)
            .bind(i64::from(u.must_change_password))
            .bind(&stamp)
            .bind(&by)
            .bind(&u.id)
            .execute(w.conn())
            .await?;
        }
        ChangeOp::Delete => return Err(Error::internal("users are deactivated, not deleted")),
    }
    let origin: String =
        sqlx::query_scalar("SELECT origin_device FROM users WHERE id = ?").bind(&u.id).fetch_one(w.conn()).await?;
    let synced = |u: &UserRow| {
        serde_json::to_value(SyncedRow {
            id: &u.id,
            username: &u.username,
            full_name: &u.full_name,
            password_hash: &u.password_hash,
            roles: &u.roles,
            active: u.active,
            user_key: u.user_key.as_deref(),
            key_salt: u.key_salt.as_deref(),
            must_change_password: u.must_change_password,
            created_at: &u.created_at,
            updated_at: &stamp,
            updated_by: by.as_deref(),
            origin_device: &origin,
            deleted_at: None,
        })
    };
    // Every key the account has had, with the stamp that set it (`sync::trust`: a past key
    // still proves changes stamped before it was replaced).
    if before.as_ref().is_none_or(|old| old.user_key != u.user_key) {
        sqlx::query("INSERT OR IGNORE INTO user_key_history (user_id, stamp, user_key) VALUES (?, ?, ?)")
            .bind(&u.id)
            .bind(&stamp)
            .bind(&u.user_key)
            .execute(w.conn())
            .await?;
    }
    let data = synced(u)?;
    match before {
        Some(mut old) => {
            // A new password always carries whether it is temporary, even when that did not
            // change here: a reset made on one device while the owner's own change (clearing
            // the mark) is on its way from another would otherwise leave, after the per-field
            // merge, the administrator's password not marked temporary. Both fields are
            // stamped by the same write, so the merge keeps them together.
            if old.password_hash != u.password_hash {
                old.must_change_password = !u.must_change_password;
            }
            w.record_update("users", &u.id, &synced(&old)?, &data).await
        }
        None => w.record_change("users", &u.id, op, &data).await,
    }
}
