//! The schedule's tables as storage and sync know them (`store::tables`).
//!
//! Appointments keep one active booking per doctor's slot even when two devices booked it
//! apart: a pulled appointment is held off its slot (`slot_conflict`, local to each device)
//! until `slot_rule::settle_slots`, run after every local or pulled write of one, decides
//! who keeps it. Staff keep their specialty index in step with the row.

use crate::store::tables::{Hook, Label, Table, TableRules, Values, NO_RULES};
use crate::store::WriteTx;
use serde_json::{Map, Value};
use sqlx::SqliteConnection;

struct AppointmentRules;

impl TableRules for AppointmentRules {
    /// Two bookings of one slot merged from two devices: settle which one holds it again, now
    /// that this write may have freed or taken a slot.
    fn after_write<'a>(&'a self, w: &'a mut WriteTx<'_>, _id: &'a str) -> Hook<'a> {
        Box::pin(async move {
            let now = w.now_rfc3339();
            super::slot_rule::settle_slots(w.conn(), &now).await
        })
    }

    /// Appointment changes carry the slot as `start`/`end` ("HH:MM", the app's `Appointment`)
    /// rather than the `start_min`/`end_min` columns: read the minutes from them.
    fn incoming(&self, data: &Map<String, Value>, values: &mut Values) {
        for (text, column) in [("start", "start_min"), ("end", "end_min")] {
            if values.iter().any(|(k, _)| k == column) {
                continue;
            }
            let minutes = data.get(text).and_then(Value::as_str).and_then(|t| {
                let (h, m) = t.split_once(':')?;
                Some(h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?)
            });
            if let Some(minutes) = minutes {
                values.push((column.to_string(), Value::from(minutes)));
            }
        }
    }

    /// A pulled booking, or a change of its status or time, may take a slot another booking
    /// holds: held off it until `settle_slots` (after the write) decides.
    fn mark_pulled(&self, values: &mut Values) {
        values.push(("slot_conflict".into(), Value::from(1)));
    }

    fn after_apply<'a>(&'a self, w: &'a mut WriteTx<'_>, id: &'a str) -> Hook<'a> {
        self.after_write(w, id)
    }

    /// "Amina Mwakyusa (K7Q2-000123): Dr. Rao, 2026-11-23 09:30, booked".
    fn label<'a>(&'a self, conn: &'a mut SqliteConnection, id: &'a str) -> Label<'a> {
        Box::pin(async move {
            let row: Option<(String, String, String, i64, String)> = sqlx::query_as(
                "SELECT coalesce(trim(p.given_name || ' ' || p.family_name) || ' (' || p.mrn || ')', a.patient_id),
                        coalesce(s.full_name, a.doctor_id), a.date, a.start_min, a.status
                 FROM appointments a LEFT JOIN patients p ON p.id = a.patient_id LEFT JOIN staff s ON s.id = a.doctor_id
                 WHERE a.id = ?",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.map(|(patient, doctor, date, start, status)| {
                format!("{patient}: {doctor}, {date} {:02}:{:02}, {status}", start / 60, start % 60)
            }))
        })
    }

    /// The slot rule runs per row.
    fn batchable(&self) -> bool {
        false
    }
}

struct StaffRules;

impl TableRules for StaffRules {
    fn after_apply<'a>(&'a self, w: &'a mut WriteTx<'_>, id: &'a str) -> Hook<'a> {
        Box::pin(super::staff::reindex_specialties(w, id))
    }

    /// The staff member's full name.
    fn label<'a>(&'a self, conn: &'a mut SqliteConnection, id: &'a str) -> Label<'a> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT full_name FROM staff WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?)
        })
    }

    /// The specialty index is kept per row.
    fn batchable(&self) -> bool {
        false
    }
}

inventory::submit! {
    Table { name: "departments", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
inventory::submit! {
    Table { name: "specialties", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
inventory::submit! {
    Table { name: "staff", id_column: "id", synced: true, local_columns: &[], rules: &StaffRules }
}
inventory::submit! {
    Table { name: "doctor_sessions", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
inventory::submit! {
    Table { name: "schedule_exceptions", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
inventory::submit! {
    Table {
        name: "appointments",
        id_column: "id",
        synced: true,
        local_columns: &["slot_conflict"],
        rules: &AppointmentRules,
    }
}
