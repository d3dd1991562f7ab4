//! The hash-chained audit log: verification catches edits, deletions and reordering.

mod common;

use hms_core::audit::{self, AuditFilter};
use hms_core::{Error, Store, ValidationReason};

async fn tamper(store: &Store, sql: &str) {
    // Someone with the database file in hand: triggers dropped, rows changed.
    for s in ["DROP TRIGGER IF EXISTS audit_log_no_update", "DROP TRIGGER IF EXISTS audit_log_no_delete", sql] {
        sqlx::query(s).execute(store.pool()).await.unwrap();
    }
}

async fn populated() -> (common::Env, hms_core::SessionSlot) {
    let (env, admin) = common::with_admin().await;
    for i in 0..4 {
        common::add_user(&env.store, &admin, &format!("staff{i}"), &["nurse"]).await;
    }
    (env, admin)
}

#[tokio::test]
async fn an_untouched_chain_verifies_and_verification_is_audited() {
    let (env, admin) = populated().await;
    let n = common::count(&env.store, "audit_log").await;
    let a = admin.authorize(&env.store).await.unwrap();
    let v = audit::verify(&env.store, &a).await.unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!(i64::from(v.checked), n);
    assert_eq!(common::actions(&env.store).await.last().unwrap(), "audit.verify");
    assert!(audit::verify(&env.store, &a).await.unwrap().intact, "still intact after its own entry");
}

#[tokio::test]
async fn the_log_refuses_update_and_delete() {
    let (env, _) = populated().await;
    assert!(sqlx::query("UPDATE audit_log SET action = 'x' WHERE seq = 2").execute(env.store.pool()).await.is_err());
    assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 2").execute(env.store.pool()).await.is_err());
}

#[tokio::test]
async fn an_edited_entry_is_detected() {
    let (env, _) = populated().await;
    tamper(&env.store, "UPDATE audit_log SET detail = '{\"username\":\"mallory\"}' WHERE seq = 3").await;
    let v = audit::verify_unaudited(&env.store).await.unwrap();
    assert!(!v.intact);
    assert_eq!(v.first_bad_seq, Some(3));
    assert_eq!(v.checked, 2);
}

#[tokio::test]
async fn a_deleted_entry_is_detected() {
    let (env, _) = populated().await;
    tamper(&env.store, "DELETE FROM audit_log WHERE seq = 4").await;
    let v = audit::verify_unaudited(&env.store).await.unwrap();
    assert!(!v.intact);
    assert_eq!(v.first_bad_seq, Some(4));
}

#[tokio::test]
async fn entries_cut_off_the_end_are_detected() {
    let (env, _) = populated().await;
    tamper(&env.store, "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)").await;
    let v = audit::verify_unaudited(&env.store).await.unwrap();
    assert!(!v.intact, "{v:?}");
}

#[tokio::test]
async fn reordered_entries_are_detected() {
    let (env, _) = populated().await;
    // Swap entries 3 and 4 (contents move, seq numbers stay contiguous).
    tamper(&env.store, "UPDATE audit_log SET seq = -3 WHERE seq = 3").await;
    tamper(&env.store, "UPDATE audit_log SET seq = 3 WHERE seq = 4").await;
    tamper(&env.store, "UPDATE audit_log SET seq = 4 WHERE seq = -3").await;
    let v = audit::verify_unaudited(&env.store).await.unwrap();
    assert!(!v.intact);
    assert_eq!(v.first_bad_seq, Some(3));
}

#[tokio::test]
async fn the_log_filters_by_user_action_and_date_newest_first() {
    let (env, admin) = populated().await;
    let a = admin.authorize(&env.store).await.unwrap();
    let all = audit::list(&env.store, &a, &AuditFilter { limit: 500, ..Default::default() }).await.unwrap();
    assert_eq!(i64::from(all.total), common::count(&env.store, "audit_log").await);
    assert!(all.entries.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(all.entries.last().unwrap().username.as_deref(), Some("admin"));

    let creates = audit::list(
        &env.store,
        &a,
        &AuditFilter { action: Some("user.create".into()), limit: 2, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(creates.total, 5, "the admin and four staff");
    assert_eq!(creates.entries.len(), 2, "paged");

    let mine = audit::list(
        &env.store,
        &a,
        &AuditFilter { user_id: Some(a.user_id.clone()), limit: 500, ..Default::default() },
    )
    .await
    .unwrap();
    assert!(mine.entries.iter().all(|e| e.user_id.as_deref() == Some(&a.user_id)));

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let dated = audit::list(
        &env.store,
        &a,
        &AuditFilter { from: Some(today.clone()), to: Some(today), limit: 500, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(dated.total, all.total);
    let past =
        audit::list(&env.store, &a, &AuditFilter { to: Some("2020-01-01".into()), limit: 500, ..Default::default() })
            .await
            .unwrap();
    assert_eq!(past.total, 0);

    let bad =
        audit::list(&env.store, &a, &AuditFilter { from: Some("22/11/2026".into()), limit: 10, ..Default::default() })
            .await;
    assert!(
        matches!(bad, Err(Error::Validation { ref field, reason: ValidationReason::Invalid, .. }) if field == "from")
    );
    let actions = audit::actions(&env.store, &a).await.unwrap();
    assert!(actions.contains(&"user.create".to_string()) && actions.contains(&"auth.sign_in".to_string()));
}
