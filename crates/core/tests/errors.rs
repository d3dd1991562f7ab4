//! Database errors reach the screen as a stable code and a reference, never as SQL text; the
//! device's log holds what failed under that reference. A stored value that does not read is
//! an error naming the table, the row and the field, never a default.

mod common;

use hms_core::patients::{self, PatientInput};
use hms_core::{Error, SessionSlot};

async fn desk() -> (common::Env, SessionSlot) {
    let (env, admin) = common::with_admin().await;
    common::add_user(&env.store, &admin, "reception", &["receptionist"]).await;
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &slot, "reception", common::STAFF_PW).await.unwrap();
    (env, slot)
}

fn amina() -> PatientInput {
    PatientInput {
        given_name: "Amina".into(),
        family_name: "Mwakyusa".into(),
        sex: "female".into(),
        birth_date: Some("1990-04-02".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_database_error_shows_a_reference_and_the_log_holds_its_text() {
    let (env, slot) = desk().await;
    // The one test of this binary that sets the process's log.
    hms_core::logging::to_file(env.dir.path()).unwrap();
    let auth = slot.authorize(&env.store).await.unwrap();
    let p = patients::register(&env.store, &auth, amina()).await.unwrap();
    // The phone index goes missing: opening the patient works, saving it fails in SQLite.
    sqlx::query("DROP TABLE patient_phones").execute(env.store.pool()).await.unwrap();
    let err = patients::update(&env.store, &auth, &p.id, amina()).await.unwrap_err();

    let Error::Storage { reference } = &err else { panic!("{err:?}") };
    assert_eq!(reference.len(), 8);
    let shown = serde_json::to_string(&err).unwrap();
    assert_eq!(shown, format!(r#"{{"code":"storage","detail":{{"reference":"{reference}"}}}}"#));
    for sql in ["patient_phones", "no such table", "INSERT", "SELECT"] {
        assert!(!shown.contains(sql) && !err.to_string().contains(sql), "{sql} in {shown} / {err}");
    }

    let log = std::fs::read_to_string(hms_core::logging::file_in(env.dir.path())).unwrap();
    let line =
        log.lines().find(|l| l.contains(reference.as_str())).unwrap_or_else(|| panic!("no {reference} in {log}"));
    assert!(line.contains("no such table: patient_phones"), "{line}");
}

#[tokio::test]
async fn a_stored_value_that_does_not_read_names_its_table_and_row() {
    let (env, slot) = desk().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let p = patients::register(&env.store, &auth, amina()).await.unwrap();

    for (column, value) in [("sex", "'femal'"), ("status", "'gone'"), ("phones", "'+255 754'"), ("allergies", "'['")] {
        let before: String = sqlx::query_scalar(&format!("SELECT {column} FROM patients WHERE id = ?"))
            .bind(&p.id)
            .fetch_one(env.store.pool())
            .await
            .unwrap();
        // Damage as a disk or a foreign tool would: past the table's CHECK constraints.
        let mut conn = env.store.pool().acquire().await.unwrap();
        sqlx::query("PRAGMA ignore_check_constraints = ON").execute(&mut *conn).await.unwrap();
        sqlx::query(&format!("UPDATE patients SET {column} = {value} WHERE id = ?"))
            .bind(&p.id)
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("PRAGMA ignore_check_constraints = OFF").execute(&mut *conn).await.unwrap();
        drop(conn);
        let err = patients::open(&env.store, &auth, &p.id).await.unwrap_err();
        assert_eq!(
            err,
            Error::CorruptRecord { table: "patients".into(), id: p.id.clone(), field: column.into() },
            "{column}"
        );
        assert_eq!(err.code(), "corrupt_record");
        sqlx::query(&format!("UPDATE patients SET {column} = ? WHERE id = ?"))
            .bind(before)
            .bind(&p.id)
            .execute(env.store.pool())
            .await
            .unwrap();
    }
    assert_eq!(patients::open(&env.store, &auth, &p.id).await.unwrap().given_name, "Amina");
}
