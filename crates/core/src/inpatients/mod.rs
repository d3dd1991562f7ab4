//! Inpatients (issue 15, first layers): wards, rooms and beds; admission, transfer, swap and
//! discharge; housekeeping and out-of-service beds; the bed board; and the daily bed charge.
//!
//! A bed's story is **append-only** (`bed_events`): admitted to, transferred out of / into,
//! swapped, discharged from, sent to cleaning, cleaned, taken out of / back into service. Who
//! lies in which bed is never stored; the board is derived from the events by the same rules
//! on every device ([`derive`]), so a bed given to two patients on two offline devices is
//! settled the same way everywhere and nobody silently loses a bed.
//!
//! Permissions: the administrator sets up wards, rooms and beds and takes beds out of service
//! (`wards_manage`); doctors and reception admit (`inpatients_admit`) and transfer or swap
//! (`inpatients_transfer`); doctors discharge (`inpatients_discharge`); nurses send beds to
//! cleaning and mark them clean (`beds_housekeeping`); the board is `inpatients_view`'s. Every
//! write is one transaction with its change-log and audit entries.
//!
//! The ward round ([`orders`], [`mar`], [`due`], [`notes`]): doctors order (`inpatient_orders`)
//! and write progress notes; nurses record doses on the MAR and write the shift's notes
//! (`mar_record`); clinicians read orders, the MAR, notes and the ward's due list
//! (`clinical_view`). A discharge stops the stay's open orders.
//!
//! The discharge summary ([`summary`]): a doctor drafts it during the stay and finalises it at
//! or after the discharge (`inpatient_orders`); clinicians read it (`clinical_view`).
//!
//! Nurses chart intake and output ([`intake_output`], `mar_record`), balanced per shift
//! ([`shifts`]) and per clinic day.

pub mod admit_from;
mod back_entry;
pub mod board;
pub mod census;
pub mod changed_twice;
pub mod conflicts;
pub mod derive;
pub mod due;
pub mod handover;
pub mod intake_output;
pub mod mar;
pub mod model;
pub mod notes;
pub mod orders;
pub mod reservations;
pub mod rights;
pub mod schedule;
pub mod setup;
pub mod shifts;
pub mod stays;
pub mod summary;
pub mod summary_pdf;
mod tables;

pub use model::*;

use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::store::stored::{self, json_rows};
use crate::store::{Store, WriteTx};
use derive::{Derived, Event, Stay};
use serde_json::json;
use sqlx::SqliteConnection;

/// The longest ward, room or bed name.
pub const NAME_MAX: usize = 60;
/// The most tags a bed carries, and the longest tag.
pub const TAGS_MAX: usize = 6;
pub const TAG_MAX: usize = 24;
/// The longest admission reason, discharge note or out-of-service reason.
pub const REASON_MAX: usize = 500;
/// The longest expected stay, in days.
pub const EXPECTED_DAYS_MAX: u32 = 365;
/// How far back an admission may be entered (a patient admitted in the night, or while the
/// system was down), in hours.
pub const BACK_ENTRY_HOURS_MAX: i64 = 72;

/// An RFC 3339 time in the store's form (UTC, milliseconds, `Z`): the form events sort in.
pub(crate) fn canonical_time(raw: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn is_canonical(at: &str) -> bool {
    at.len() == 24 && at.ends_with('Z') && at.as_bytes().get(10) == Some(&b'T')
}

/// The board: the saved one (`bed_board_snapshot`) replayed on with the events after it, or
/// every event from the start when none is saved (or its rules were older).
///
/// Events and admissions come back as **one** row holding a JSON array: sqlx hands every row
/// over from SQLite's own thread as a message, and for the few hundred bytes of an event that
/// hand-over costs more than reading it.
pub(crate) async fn derived(conn: &mut SqliteConnection) -> Result<Derived> {
    Ok(replayed(None, conn, None).await?.board)
}

/// [`derived`] for a read (`conn` from the store's read pool, no write under way on it): the
/// board is kept in memory under `bed_board_version` (bumped by triggers on every write to
/// bed events and admissions, migration 0048) and replayed again only after such a write.
/// The version is read first: a write committed between it and the replay leaves a board
/// newer than its version says, which the next read replaces; never an older one.
pub(crate) async fn derived_read(store: &Store, conn: &mut SqliteConnection) -> Result<std::sync::Arc<Derived>> {
    let version: i64 = sqlx::query_scalar("SELECT n FROM bed_board_version WHERE id = 1").fetch_one(&mut *conn).await?;
    let version = version.to_string();
    if let Some(board) = store.memo::<Derived>(BOARD_MEMO, &version) {
        return Ok(board);
    }
    let board = std::sync::Arc::new(replayed(Some(store), conn, None).await?.board);
    store.keep_memo(BOARD_MEMO, version, board.clone());
    Ok(board)
}

const BOARD_MEMO: &str = "inpatients.board";

/// [`derived`] inside a write, which also saves the board of six hours ago when the replay
/// was long, so that the next one starts there.
pub(crate) async fn derived_in(w: &mut WriteTx<'_>) -> Result<Derived> {
    let keep =
        (w.now() - chrono::Duration::hours(SNAPSHOT_LAG_HOURS)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let store = w.store();
    let mut r = replayed(Some(store), w.conn(), Some(&keep)).await?;
    if r.replayed > SNAPSHOT_AFTER {
        if let Some((mark, mut board)) = r.kept.take() {
            board.forget_ended(&r.stays, &mark.at);
            save_snapshot(w, SETTLED, &mark, board).await?;
        }
    }
    // The board after the last event too, for the writes that follow: all of a busy ward's
    // last hours would be replayed at every write otherwise.
    if r.replayed > RECENT_AFTER {
        if let Some(mark) = r.last.take() {
            let mut board = r.board.clone();
            board.forget_ended(&r.stays, &mark.at);
            save_snapshot(w, RECENT, &mark, board).await?;
        }
    }
    // The reservations that lapsed by now free their beds for this write.
    r.board.lapse(&w.now_rfc3339());
    Ok(r.board)
}

/// The rules a saved board was built by: an app with other rules starts from the events.
const SNAPSHOT_VERSION: i64 = 2;
/// How old the newest event of a saved board is at least. An event that arrives later with an
/// earlier time (another device's, synced late) drops the saved board (the migration's
/// triggers); most arrive within minutes, so the board of six hours ago is rarely dropped.
const SNAPSHOT_LAG_HOURS: i64 = 6;
/// A replay of more events than this saves the board for the next one.
const SNAPSHOT_AFTER: usize = 200;
/// A replay of more events than this saves the board after the last of them (`RECENT`).
const RECENT_AFTER: usize = 8;

/// The saved boards: six hours back (`bed_board_snapshot`, migration 0034), rarely dropped,
/// and after the last event replayed in a write (`bed_board_recent`, migration 0048), dropped
/// by the next event that arrives behind it (most events pulled from another device). A
/// replay starts from the later of the two.
const SETTLED: &str = "bed_board_snapshot";
const RECENT: &str = "bed_board_recent";

struct Replayed {
    board: Derived,
    /// The board as it stood at the `keep` time, and where.
    kept: Option<(derive::Mark, Derived)>,
    /// The admissions the replayed events name.
    stays: Vec<Stay>,
    replayed: usize,
    /// Where the last replayed event leaves the board (None: no event replayed).
    last: Option<derive::Mark>,
}

/// The later of the saved boards (`SETTLED`, `RECENT`) built by these rules that can be had,
/// and where it stands. Each save names itself (`saved_id`) and the app keeps the board it
/// saved or read under that name in memory, so that a write does not read and parse a few
/// hundred kB of JSON at every write; a save rolled back leaves a name no row holds, so a kept
/// board is always the one its row stands for. `RECENT` rows hold no board at all (saving one
/// every few writes cost more than it saved): only the app that saved it has it, and any
/// other starts from `SETTLED`.
async fn saved_board(store: Option<&Store>, conn: &mut SqliteConnection) -> Result<Option<(Derived, derive::Mark)>> {
    let mut marks: Vec<(String, i64, String, String, String)> = sqlx::query_as(&format!(
        "SELECT '{SETTLED}', version, upto_at, upto_group, saved_id FROM {SETTLED}
         UNION ALL SELECT '{RECENT}', version, upto_at, upto_group, saved_id FROM {RECENT}"
    ))
    .fetch_all(&mut *conn)
    .await?;
    marks.retain(|m| m.1 == SNAPSHOT_VERSION);
    marks.sort_by(|a, b| (b.2.as_str(), b.3.as_str()).cmp(&(a.2.as_str(), a.3.as_str())));
    for (table, _, at, group, saved_id) in marks {
        let mark = derive::Mark { at, group };
        let key = format!("{table} {saved_id}");
        if let Some(board) = store.filter(|_| !saved_id.is_empty()).and_then(|s| s.memo::<Derived>(SAVED_MEMO, &key)) {
            return Ok(Some((Derived::clone(&board), mark)));
        }
        if table == RECENT {
            continue;
        }
        let json: Option<String> =
            sqlx::query_scalar(&format!("SELECT board FROM {SETTLED} WHERE id = 1")).fetch_optional(&mut *conn).await?;
        // A saved board is only a shortcut: one that does not read is replayed anew.
        let Some(board) = json.and_then(|j| serde_json::from_str::<Derived>(&j).ok()) else {
            return Ok(None);
        };
        if let Some(store) = store.filter(|_| !saved_id.is_empty()) {
            store.keep_memo(SAVED_MEMO, key, std::sync::Arc::new(board.clone()));
        }
        return Ok(Some((board, mark)));
    }
    Ok(None)
}

const SAVED_MEMO: &str = "inpatients.saved_board";

async fn replayed(store: Option<&Store>, conn: &mut SqliteConnection, keep: Option<&str>) -> Result<Replayed> {
    let (mut board, mark) = match saved_board(store, &mut *conn).await? {
        Some((board, mark)) => (board, Some(mark)),
        None => (Derived::default(), None),
    };
    let since = mark.as_ref().map_or("", |m| m.at.as_str());
    let events = events_since(conn, since).await?;
    let events: Vec<Event> = match &mark {
        Some(m) => events.into_iter().filter(|e| m.before(e)).collect(),
        None => events,
    };
    // Only the admissions these events name matter to them (an unknown one is not placed,
    // like one discharged before the event).
    let stays: Vec<(String, String, Option<String>)> = json_rows(
        &mut *conn,
        "SELECT json_group_array(json_array(id, patient_id, discharged_at)) FROM admissions
         WHERE deleted_at IS NULL AND id IN (SELECT admission_id FROM bed_events WHERE at >= ? AND deleted_at IS NULL)",
        "admissions",
        &[Some(since)],
    )
    .await?;
    let stays: Vec<Stay> = stays
        .into_iter()
        .map(|(id, patient_id, discharged_at)| Stay {
            id,
            patient_id,
            discharged_at: discharged_at.and_then(|t| canonical_time(&t)),
        })
        .collect();
    let replayed = events.len();
    let last = events.iter().map(derive::Mark::of).max();
    let kept = board.replay(events, &stays, keep);
    Ok(Replayed { board, kept, stays, replayed, last })
}

/// The bed events at or after `since` (all with ""), not deleted.
async fn events_since(conn: &mut SqliteConnection, since: &str) -> Result<Vec<Event>> {
    type EventRow =
        (String, String, String, Option<String>, Option<String>, String, String, Option<String>, Option<String>);
    let rows: Vec<EventRow> = json_rows(
        &mut *conn,
        "SELECT json_group_array(json_array(id, bed_id, kind, admission_id, move_id, at, reason, patient_id, until))
         FROM bed_events WHERE at >= ? AND deleted_at IS NULL",
        "bed_events",
        &[Some(since)],
    )
    .await?;
    let mut events = Vec::with_capacity(rows.len());
    for (id, bed_id, kind, admission_id, move_id, at, reason, patient_id, until) in rows {
        let kind = stored::code("bed_events", &id, "kind", &kind, BedEventKind::from_code)?;
        // A synced row written elsewhere sorts like ours only in the same form.
        let at = store_time(&id, "at", at)?;
        let until = until.map(|u| store_time(&id, "until", u)).transpose()?;
        events.push(Event { id, bed_id, kind, admission_id, move_id, at, reason, patient_id, until });
    }
    Ok(events)
}

/// A stored event time in the form events sort in.
fn store_time(id: &str, column: &str, at: String) -> Result<String> {
    if is_canonical(&at) {
        return Ok(at);
    }
    canonical_time(&at).ok_or_else(|| Error::corrupt("bed_events", id, column, "not an RFC 3339 time"))
}

/// Saves `board` as it stands at `mark` in `table`: the whole board in `SETTLED`, only its
/// mark and name in `RECENT` (the board is kept in memory, see [`saved_board`]).
async fn save_snapshot(w: &mut WriteTx<'_>, table: &'static str, mark: &derive::Mark, board: Derived) -> Result<()> {
    let saved_id = crate::ids::new_id();
    let json = if table == SETTLED { Some(serde_json::to_string(&board)?) } else { None };
    let sql = match json {
        Some(_) => format!(
            "INSERT INTO {SETTLED} (id, version, upto_at, upto_group, saved_id, board) VALUES (1, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, upto_at = excluded.upto_at,
               upto_group = excluded.upto_group, saved_id = excluded.saved_id, board = excluded.board"
        ),
        None => format!(
            "INSERT INTO {RECENT} (id, version, upto_at, upto_group, saved_id) VALUES (1, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, upto_at = excluded.upto_at,
               upto_group = excluded.upto_group, saved_id = excluded.saved_id"
        ),
    };
    let mut q = sqlx::query(&sql).bind(SNAPSHOT_VERSION).bind(&mark.at).bind(&mark.group).bind(&saved_id);
    if let Some(json) = json {
        q = q.bind(json);
    }
    q.execute(w.conn()).await?;
    // Kept under its name: the next write starts from it without reading it back.
    w.store().keep_memo(SAVED_MEMO, format!("{table} {saved_id}"), std::sync::Arc::new(board));
    Ok(())
}

/// Appends one event to a bed's story (a synced insert).
pub(crate) async fn append_event(
    w: &mut WriteTx<'_>,
    bed_id: &str,
    kind: BedEventKind,
    admission_id: Option<&str>,
    move_id: Option<&str>,
    reason: &str,
) -> Result<String> {
    let id = crate::ids::new_id();
    let at = w.now_rfc3339();
    append_event_at(w, &id, bed_id, kind, admission_id, move_id, reason, &at).await?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_event_at(
    w: &mut WriteTx<'_>,
    id: &str,
    bed_id: &str,
    kind: BedEventKind,
    admission_id: Option<&str>,
    move_id: Option<&str>,
    reason: &str,
    at: &str,
) -> Result<()> {
    crate::clinical::insert_row(
        w,
        "bed_events",
        id,
        &[
            ("bed_id", json!(bed_id)),
            ("kind", json!(kind.code())),
            ("admission_id", json!(admission_id)),
            ("move_id", json!(move_id)),
            ("at", json!(at)),
            ("reason", json!(reason)),
        ],
    )
    .await
}

/// The open admission (not discharged) of that id, inside a write: (patient, admitted_at in
/// the store's form). Unknown or discharged is `invalid`, naming `field`.
pub(crate) async fn open_admission(w: &mut WriteTx<'_>, field: &str, admission_id: &str) -> Result<(String, String)> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT patient_id, admitted_at, discharged_at FROM admissions WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(admission_id)
    .fetch_optional(w.conn())
    .await?;
    match row {
        None => Err(Error::validation(field, ValidationReason::Invalid, "no such admission")),
        Some((_, _, Some(_))) => {
            Err(Error::validation(field, ValidationReason::Invalid, "this patient was discharged"))
        }
        Some((patient, at, None)) => Ok((patient, canonical_time(&at).unwrap_or(at))),
    }
}

/// A bed that exists (not deleted): its ward.
pub(crate) async fn bed_ward(conn: &mut SqliteConnection, field: &str, bed_id: &str) -> Result<String> {
    sqlx::query_scalar("SELECT ward_id FROM beds WHERE id = ? AND deleted_at IS NULL")
        .bind(bed_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::validation(field, ValidationReason::Invalid, "no such bed"))
}

/// That a bed may take `patient` now: free, or reserved for them (a bed in cleaning waits for
/// housekeeping to mark it clean). Occupied is `taken`, reserved for someone else `reserved`;
/// out of service or in cleaning `invalid`, naming `field`. `d` is read now (lapsed
/// reservations freed: `derived_in`).
pub(crate) fn require_free(d: &Derived, field: &str, bed_id: &str, patient: &str) -> Result<()> {
    let bed = d.bed(bed_id);
    match bed.state {
        BedState::Free => Ok(()),
        BedState::Reserved if bed.held.as_ref().is_some_and(|h| h.patient_id == patient) => Ok(()),
        BedState::Reserved => {
            Err(Error::validation(field, ValidationReason::Reserved, "this bed is reserved for another patient"))
        }
        BedState::Occupied => Err(Error::validation(field, ValidationReason::Taken, "this bed is occupied")),
        BedState::Cleaning => Err(Error::validation(field, ValidationReason::Invalid, "this bed is being cleaned")),
        BedState::OutOfService => Err(Error::validation(
            field,
            ValidationReason::Invalid,
            format!("this bed is out of service: {}", bed.reason),
        )),
    }
}
