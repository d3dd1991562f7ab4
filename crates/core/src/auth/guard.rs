//! The `sign_in_guard` table: failed-attempt counters and lockouts (local to this device).

use super::lockout::GuardState;
use crate::error::Result;
use crate::store::WriteTx;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

fn parse(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|d| d.with_timezone(&Utc))
}

pub async fn load(pool: &SqlitePool, user_id: &str) -> Result<GuardState> {
    let row: Option<(i64, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT failed_attempts, last_failed_at, locked_until FROM sign_in_guard WHERE user_id = ?")
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        None => GuardState::default(),
        Some((failed, last, locked)) => GuardState {
            failed_attempts: u32::try_from(failed).unwrap_or(0),
            last_failed_at: parse(last),
            locked_until: parse(locked),
        },
    })
}

pub async fn save(w: &mut WriteTx<'_>, user_id: &str, s: &GuardState) -> Result<()> {
    sqlx::query(
        "INSERT INTO sign_in_guard (user_id, failed_attempts, last_failed_at, locked_until) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET failed_attempts = excluded.failed_attempts,
           last_failed_at = excluded.last_failed_at, locked_until = excluded.locked_until",
    )
    .bind(user_id)
    .bind(i64::from(s.failed_attempts))
    .bind(s.last_failed_at.map(|t| t.to_rfc3339()))
    .bind(s.locked_until.map(|t| t.to_rfc3339()))
    .execute(w.conn())
    .await?;
    Ok(())
}

pub async fn clear(w: &mut WriteTx<'_>, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_guard WHERE user_id = ?").bind(user_id).execute(w.conn()).await?;
    Ok(())
}
