// What the Appointments and Staff screens derive, build and check: calendar days and weeks,
// slot times and their grouping, statuses and waiting times, the inputs sent to the backend
// (booking, weekly sessions, exceptions, staff profiles) and the problems found before
// sending them. Pure functions, tested without Tauri.

import type {
  AppError,
  Appointment,
  AppointmentStatus,
  AppointmentView,
  BookInput,
  DoctorSession,
  ExceptionKind,
  SessionInput,
  StaffMember,
  ValidationReason,
} from './bindings';
import { APPOINTMENT_REASON_MAX, MAX_FEE_MINOR, MAX_SLOT_MINUTES, MIN_SLOT_MINUTES, STAFF_FIELDS } from './bindings';
import { errorMessage, validationMessage } from './errors';
import { clinicDay, formatDay, formatWallClock, hasMessage, numberFormat, t, type MessageKey } from './i18n';

// The limits are the core's (exported into bindings.ts), never copies.
/** How long a slot may be, in minutes. */
export const MIN_SLOT = MIN_SLOT_MINUTES;
export const MAX_SLOT = MAX_SLOT_MINUTES;
/** A reason (booking, cancellation, exception) has at most this many characters. */
export const MAX_REASON = APPOINTMENT_REASON_MAX;
/** How far "next free slot" looks ahead, in days (the backend allows up to 60). */
export const NEXT_FREE_DAYS = 30;
/** The queue screen refreshes itself this often. */
export const QUEUE_REFRESH_MS = 15_000;
/** A new weekly session row, when there is no row to copy. */
export const DEFAULT_SESSION = { start: '09:00', end: '13:00', slot: '15' } as const;

// ------------------------------------------------------------------ calendar days

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day (YYYY-MM-DD) as a local Date at midnight; null when not a real date. */
export function parseDay(iso: string | null | undefined): Date | null {
  const m = iso ? DAY.exec(iso) : null;
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // 2026-02-30 rolls over to March: not a real date.
  if (d.getFullYear() !== Number(m[1]) || d.getMonth() !== Number(m[2]) - 1 || d.getDate() !== Number(m[3])) return null;
  return d;
}

/** The local calendar day of a Date, YYYY-MM-DD. */
export function isoDay(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Today in the clinic's time zone, YYYY-MM-DD (not this computer's, if they differ). */
export function today(now: Date = new Date()): string {
  return clinicDay(now);
}

/** The day `n` days after `iso` (before, for a negative `n`); across month ends and DST. */
export function addDays(iso: string, n: number): string {
  const d = parseDay(iso);
  if (!d) return iso;
  // Calendar arithmetic on the date parts: a DST change never shifts the day.
  return isoDay(new Date(d.getFullYear(), d.getMonth(), d.getDate() + n));
}

/** ISO weekday of a day: 1 = Monday … 7 = Sunday (0 when not a date). */
export function isoWeekday(iso: string): number {
  const d = parseDay(iso);
  if (!d) return 0;
  const js = d.getDay();
  return js === 0 ? 7 : js;
}

/** The Monday of the week holding `iso` (weeks run Monday to Sunday, as ISO weekdays do). */
export function weekStart(iso: string): string {
  const wd = isoWeekday(iso);
  return wd === 0 ? iso : addDays(iso, 1 - wd);
}

/** The seven days, Monday to Sunday, of the week holding `iso`. */
export function weekDates(iso: string): string[] {
  const first = weekStart(iso);
  return Array.from({ length: 7 }, (_, i) => addDays(first, i));
}

/** Whether a day is before today. */
export function isPastDay(iso: string, now: Date = new Date()): boolean {
  return iso < today(now);
}

/** The name of an ISO weekday (1 = Monday) in the user's locale: "Monday" or "Mon". */
export function weekdayName(weekday: number, style: 'long' | 'short' = 'long'): string {
  // 1 January 2024 was a Monday.
  return formatDay(`2024-01-${String(weekday).padStart(2, '0')}`, { weekday: style }) || String(weekday);
}

/** A day as the week's column heading shows it: "Mon 2 Mar" in the user's locale. */
export function formatDayShort(iso: string): string {
  if (!parseDay(iso)) return iso;
  return formatDay(iso, { weekday: 'short', day: 'numeric', month: 'short' });
}

/** A day with its weekday, for headings and confirmations: "Monday, 2 March 2026". */
export function formatDayLong(iso: string): string {
  if (!parseDay(iso)) return iso;
  return formatDay(iso, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

// ------------------------------------------------------------------ times of day

const HHMM = /^(\d{1,2}):(\d{2})$/;

/** "09:15" → 555; "24:00" is the end of the day (1440); null when not a time. */
export function hhmmToMinutes(text: string | null | undefined): number | null {
  const m = text ? HHMM.exec(text.trim()) : null;
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h === 24 && min === 0) return 1440;
  if (h > 23 || min > 59) return null;
  return h * 60 + min;
}

/** 555 → "09:15" (the backend's form of a time of day). */
export function minutesToHhmm(minutes: number): string {
  const m = Math.max(0, Math.min(1440, Math.round(minutes)));
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** A clinic time "HH:MM" by the clinic's hour cycle ("09:15" or "09:15 am"); text that is not a time as it is. */
export function formatClock(hhmm: string): string {
  const m = hhmmToMinutes(hhmm);
  if (m === null) return hhmm;
  if (m === 1440) return hhmm;
  return formatWallClock(m);
}

/** "09:00–13:00" in the user's locale. */
export function formatRange(start: string, end: string): string {
  return t('appt.timeRange', { start: formatClock(start), end: formatClock(end) });
}

export type Period = 'morning' | 'afternoon' | 'evening';

/** Morning before 12:00, afternoon before 17:00, evening after. */
export function periodOf(startMinutes: number): Period {
  if (startMinutes < 12 * 60) return 'morning';
  if (startMinutes < 17 * 60) return 'afternoon';
  return 'evening';
}

/** Slots grouped by part of the day, in time order; empty parts are left out. */
export function groupSlots<T extends { start_min: number }>(slots: readonly T[]): { period: Period; slots: T[] }[] {
  const order: Period[] = ['morning', 'afternoon', 'evening'];
  const sorted = [...slots].sort((a, b) => a.start_min - b.start_min);
  return order
    .map((period) => ({ period, slots: sorted.filter((s) => periodOf(s.start_min) === period) }))
    .filter((g) => g.slots.length > 0);
}

export function periodLabel(period: Period): string {
  return t(`appt.period.${period}` as MessageKey);
}

/** How long someone has waited: "just arrived", "12 min", "1 h 05 min"; '' when not waiting. */
export function waitingText(minutes: number | null | undefined): string {
  if (minutes === null || minutes === undefined || !Number.isFinite(minutes)) return '';
  const m = Math.max(0, Math.floor(minutes));
  if (m < 1) return t('appt.waitJustNow');
  if (m < 60) return t('appt.waitMinutes', { count: m });
  const h = Math.floor(m / 60);
  return t('appt.waitHours', { hours: h, minutes: String(m % 60).padStart(2, '0') });
}

/** Whether a wait is long enough to stand out on the queue screen. */
export function longWait(minutes: number | null | undefined, limit = 30): boolean {
  return typeof minutes === 'number' && minutes >= limit;
}

// ------------------------------------------------------------------ statuses

export const STATUSES: readonly AppointmentStatus[] = ['booked', 'checked_in', 'with_doctor', 'done', 'cancelled', 'no_show'];

export function statusLabel(status: AppointmentStatus): string {
  return STATUSES.includes(status) ? t(`appt.status.${status}` as MessageKey) : status;
}

export type BadgeKind = 'info' | 'warning' | 'success' | 'neutral' | 'danger';

/** The colour of a status: waiting stands out, with the doctor is under way, done is quiet. */
export function statusKind(status: AppointmentStatus): BadgeKind {
  switch (status) {
    case 'booked':
      return 'info';
    case 'checked_in':
      return 'warning';
    case 'with_doctor':
      return 'success';
    case 'done':
      return 'neutral';
    case 'cancelled':
    case 'no_show':
      return 'danger';
    default:
      return 'neutral';
  }
}

/** Active: still holds its slot (booked, or the visit under way or done). */
export function isActive(status: AppointmentStatus): boolean {
  return status !== 'cancelled' && status !== 'no_show';
}

/** What a desk may do with one appointment of a day, given the permissions and the time. */
export function dayActions(
  a: Pick<Appointment, 'status' | 'date' | 'starts_at' | 'walk_in'>,
  opts: { canBook: boolean; now?: Date },
): { checkIn: boolean; reschedule: boolean; cancel: boolean; noShow: boolean } {
  const now = opts.now ?? new Date();
  const booked = a.status === 'booked' && opts.canBook;
  const started = Date.parse(a.starts_at) <= now.getTime();
  return {
    checkIn: booked && a.date === today(now),
    reschedule: booked,
    cancel: booked,
    noShow: booked && started,
  };
}

export type QueueState = 'waiting' | 'with_doctor' | 'done' | 'expected' | 'other';

/** Where an appointment stands in the day's queue. */
export function queueState(status: AppointmentStatus): QueueState {
  switch (status) {
    case 'checked_in':
      return 'waiting';
    case 'with_doctor':
      return 'with_doctor';
    case 'done':
      return 'done';
    case 'booked':
      return 'expected';
    default:
      return 'other';
  }
}

export function queueStateLabel(state: QueueState): string {
  return t(`appt.queue.${state}` as MessageKey);
}

/** How many are waiting, with the doctor, expected and done. */
export function queueCounts(entries: readonly { status: AppointmentStatus }[]): Record<QueueState, number> {
  const counts: Record<QueueState, number> = { waiting: 0, with_doctor: 0, done: 0, expected: 0, other: 0 };
  for (const e of entries) counts[queueState(e.status)] += 1;
  return counts;
}

// ------------------------------------------------------------------ appointment views

/** Appointments by time, walk-ins at their arrival; cancelled ones left out unless asked for. */
export function dayList<T extends AppointmentView>(items: readonly T[], showCancelled: boolean): T[] {
  return items
    .filter((v) => showCancelled || v.appointment.status !== 'cancelled')
    .sort((a, b) => a.appointment.starts_at.localeCompare(b.appointment.starts_at));
}

/**
 * Starts ("HH:MM") already held on a day, for the overbooking choice; those already begun are
 * left out unless back-entry is allowed.
 */
export function takenStarts(items: readonly AppointmentView[], opts: { includePast: boolean; now?: Date }): string[] {
  const now = (opts.now ?? new Date()).getTime();
  const starts = new Set<string>();
  for (const v of items) {
    const a = v.appointment;
    if (a.walk_in || !isActive(a.status)) continue;
    if (!opts.includePast && Date.parse(a.starts_at) <= now) continue;
    starts.add(a.start);
  }
  return [...starts].sort();
}

// ------------------------------------------------------------------ errors

/** `sessions.3.start` → `sessions.start`: the wording of a row's field is the same on every row. */
export function fieldBase(field: string): string {
  return field.replace(/\.\d+(?=\.|$)/g, '');
}

/**
 * The message for a rejected field in one form: `validation.<scope>.<field>.<reason>` when
 * the form words it its own way (a staff profile's `user_id` is not a user account's), else
 * the app-wide wording.
 */
export function scopedMessage(scope: string, field: string, reason: ValidationReason): string {
  const key = `validation.${scope}.${fieldBase(field)}.${reason}`;
  return hasMessage(key) ? t(key) : validationMessage(field, reason);
}

/**
 * Splits an error for a form: a message next to each field the form shows (`shows(field)`),
 * and one form-level message for anything else.
 */
export function scopedErrors(
  scope: string,
  e: AppError,
  shows: (field: string) => boolean,
): { fields: Record<string, string>; form: string | null } {
  if (e.code !== 'validation') return { fields: {}, form: errorMessage(e) };
  const message = scopedMessage(scope, e.detail.field, e.detail.reason);
  if (shows(e.detail.field)) return { fields: { [e.detail.field]: message }, form: null };
  return { fields: {}, form: message };
}

function problem(scope: string, field: string, reason: ValidationReason): string {
  return scopedMessage(scope, field, reason);
}

// ------------------------------------------------------------------ booking

/** The booking form as chosen on screen. */
export interface BookForm {
  patient_id: string;
  doctor_id: string;
  date: string;
  /** "HH:MM": a slot's start. */
  start: string;
  reason: string;
  overbook: boolean;
}

export function emptyBookForm(date: string): BookForm {
  return { patient_id: '', doctor_id: '', date, start: '', reason: '', overbook: false };
}

/**
 * What is missing or wrong before booking, by field: a patient, a doctor, a real date (not
 * in the past without back-entry), a slot and a reason of at most 200 characters.
 */
export function bookProblems(form: BookForm, opts: { canBackdate: boolean; now?: Date }): Record<string, string> {
  const out: Record<string, string> = {};
  if (!form.patient_id) out.patient_id = problem('appt', 'patient_id', 'required');
  if (!form.doctor_id) out.doctor_id = problem('appt', 'doctor_id', 'required');
  if (!parseDay(form.date)) out.date = problem('appt', 'date', form.date ? 'invalid' : 'required');
  else if (isPastDay(form.date, opts.now) && !opts.canBackdate) out.date = problem('appt', 'date', 'out_of_range');
  if (!out.date && !out.doctor_id && hhmmToMinutes(form.start) === null) out.start = problem('appt', 'start', 'required');
  if (form.reason.trim().length > MAX_REASON) out.reason = problem('appt', 'reason', 'too_long');
  return out;
}

export function toBookInput(form: BookForm): BookInput {
  return {
    patient_id: form.patient_id,
    doctor_id: form.doctor_id,
    date: form.date,
    start: form.start,
    reason: form.reason.trim(),
    overbook: form.overbook,
  };
}

/** A reason that must be given (cancelling, a cancelled session): required, at most 200 characters. */
export function reasonProblem(reason: string): string | null {
  const r = reason.trim();
  if (r === '') return problem('appt', 'reason', 'required');
  if (r.length > MAX_REASON) return problem('appt', 'reason', 'too_long');
  return null;
}

// ------------------------------------------------------------------ weekly sessions

/** One row of the weekly schedule editor, as typed. `key` keeps rows apart in the list. */
export interface SessionRow {
  key: number;
  weekday: string;
  start: string;
  end: string;
  slot: string;
}

let rowKey = 0;
function nextKey(): number {
  rowKey += 1;
  return rowKey;
}

/** The editor's rows for a doctor's sessions, by weekday and time. */
export function rowsFromSessions(sessions: readonly DoctorSession[]): SessionRow[] {
  return [...sessions]
    .sort((a, b) => a.weekday - b.weekday || a.start.localeCompare(b.start))
    .map((s) => ({ key: nextKey(), weekday: String(s.weekday), start: s.start, end: s.end, slot: String(s.slot_minutes) }));
}

/**
 * A row to add: the last row's times on the next weekday (Mon–Sat clinics fill a week in a
 * few clicks), or Monday 09:00–13:00 in 15-minute slots for the first row.
 */
export function newRow(rows: readonly SessionRow[]): SessionRow {
  const last = rows[rows.length - 1];
  if (!last) return { key: nextKey(), weekday: '1', ...DEFAULT_SESSION };
  const wd = Number(last.weekday);
  const weekday = wd >= 1 && wd < 7 ? String(wd + 1) : '1';
  return { key: nextKey(), weekday, start: last.start, end: last.end, slot: last.slot };
}

/** A copy of one row on each other weekday from Monday to Saturday that has no session overlapping it. */
export function repeatRow(rows: readonly SessionRow[], index: number): SessionRow[] {
  const source = rows[index];
  if (!source) return [...rows];
  const s = hhmmToMinutes(source.start);
  const e = hhmmToMinutes(source.end);
  if (s === null || e === null) return [...rows];
  const out = [...rows];
  for (let wd = 1; wd <= 6; wd += 1) {
    const day = String(wd);
    if (day === source.weekday) continue;
    const clash = out.some((r) => {
      if (r.weekday !== day) return false;
      const rs = hhmmToMinutes(r.start);
      const re = hhmmToMinutes(r.end);
      return rs !== null && re !== null && rs < e && s < re;
    });
    if (!clash) out.push({ ...source, key: nextKey(), weekday: day });
  }
  return sortRows(out);
}

/** Rows by weekday and start time (rows not yet filled in stay at the end, in their order). */
export function sortRows(rows: readonly SessionRow[]): SessionRow[] {
  const at = (r: SessionRow) => (Number(r.weekday) || 8) * 1441 + (hhmmToMinutes(r.start) ?? 1440);
  return [...rows].sort((a, b) => at(a) - at(b));
}

/** A slot length typed as text: a whole number of minutes, or null. */
export function parseSlot(text: string): number | null {
  const s = text.trim();
  if (!/^\d{1,4}$/.test(s)) return null;
  return Number(s);
}

/**
 * The problems of the rows, by the backend's field names (`sessions.N.start`…): a weekday,
 * times, an end after the start, slots of 5–240 minutes that fit the session, and no two
 * sessions of one weekday overlapping (reported on the later row's start).
 */
export function sessionProblems(rows: readonly SessionRow[]): Record<string, string> {
  const out: Record<string, string> = {};
  const windows: { weekday: number; start: number; end: number; index: number }[] = [];
  rows.forEach((row, i) => {
    const p = `sessions.${i}.`;
    const weekday = Number(row.weekday);
    if (!(weekday >= 1 && weekday <= 7)) out[`${p}weekday`] = problem('sched', 'sessions.weekday', 'required');
    const start = hhmmToMinutes(row.start);
    const end = hhmmToMinutes(row.end);
    if (start === null) out[`${p}start`] = row.start.trim() ? t('sched.badTime') : problem('sched', 'sessions.start', 'required');
    if (end === null) out[`${p}end`] = row.end.trim() ? t('sched.badTime') : problem('sched', 'sessions.end', 'required');
    else if (start !== null && end <= start) out[`${p}end`] = problem('sched', 'sessions.end', 'invalid');
    const slot = parseSlot(row.slot);
    if (slot === null) out[`${p}slot_minutes`] = problem('sched', 'sessions.slot_minutes', row.slot.trim() ? 'invalid' : 'required');
    else if (slot < MIN_SLOT || slot > MAX_SLOT) out[`${p}slot_minutes`] = problem('sched', 'sessions.slot_minutes', 'out_of_range');
    else if (start !== null && end !== null && end > start && end - start < slot) {
      out[`${p}slot_minutes`] = problem('sched', 'sessions.slot_minutes', 'out_of_range');
    }
    if (start !== null && end !== null && end > start && weekday >= 1 && weekday <= 7) {
      const clash = windows.find((w) => w.weekday === weekday && w.start < end && start < w.end);
      if (clash && !out[`${p}start`]) out[`${p}start`] = problem('sched', 'sessions.start', 'invalid');
      windows.push({ weekday, start, end, index: i });
    }
  });
  return out;
}

/** The rows as the backend takes them (call after sessionProblems found none). */
export function toSessionInputs(rows: readonly SessionRow[]): SessionInput[] {
  return rows.map((r) => ({
    weekday: Number(r.weekday),
    start: minutesToHhmm(hhmmToMinutes(r.start) ?? 0),
    end: minutesToHhmm(hhmmToMinutes(r.end) ?? 0),
    slot_minutes: parseSlot(r.slot) ?? 0,
  }));
}

/** The index of the row a field like `sessions.3.end` belongs to, or null. */
export function rowOfField(field: string): number | null {
  const m = /^sessions\.(\d+)\./.exec(field);
  return m ? Number(m[1]) : null;
}

/** Slots one session gives: (end − start) ÷ slot length, whole slots only. */
export function slotCount(row: Pick<SessionRow, 'start' | 'end' | 'slot'>): number {
  const s = hhmmToMinutes(row.start);
  const e = hhmmToMinutes(row.end);
  const slot = parseSlot(row.slot);
  if (s === null || e === null || !slot || e <= s) return 0;
  return Math.floor((e - s) / slot);
}

/** A doctor's weekly sessions that fall on the weekday of `date`. */
export function sessionsOn(sessions: readonly DoctorSession[], date: string): DoctorSession[] {
  const wd = isoWeekday(date);
  return sessions.filter((s) => s.weekday === wd).sort((a, b) => a.start.localeCompare(b.start));
}

// ------------------------------------------------------------------ exceptions

export interface ExceptionForm {
  date: string;
  kind: ExceptionKind;
  /** Leave: the whole day (no times). */
  whole_day: boolean;
  start: string;
  end: string;
  slot: string;
  /** Cancelled: the weekly session. */
  session_id: string;
  reason: string;
}

export function emptyExceptionForm(date: string): ExceptionForm {
  return { date, kind: 'leave', whole_day: true, start: '', end: '', slot: '15', session_id: '', reason: '' };
}

/** What is missing or wrong in an exception before sending it, by the backend's field names. */
export function exceptionProblems(form: ExceptionForm): Record<string, string> {
  const out: Record<string, string> = {};
  if (!parseDay(form.date)) out.date = problem('exc', 'date', form.date ? 'invalid' : 'required');
  const timed = form.kind === 'extra' || (form.kind === 'leave' && !form.whole_day);
  if (timed) {
    const s = hhmmToMinutes(form.start);
    const e = hhmmToMinutes(form.end);
    if (s === null) out.start = form.start.trim() ? t('sched.badTime') : problem('exc', 'start', 'required');
    if (e === null) out.end = form.end.trim() ? t('sched.badTime') : problem('exc', 'end', 'required');
    else if (s !== null && e <= s) out.end = problem('exc', 'end', 'invalid');
    if (form.kind === 'extra') {
      const slot = parseSlot(form.slot);
      if (slot === null) out.slot_minutes = problem('exc', 'slot_minutes', form.slot.trim() ? 'invalid' : 'required');
      else if (slot < MIN_SLOT || slot > MAX_SLOT || (s !== null && e !== null && e > s && e - s < slot)) {
        out.slot_minutes = problem('exc', 'slot_minutes', 'out_of_range');
      }
    }
  }
  if (form.kind === 'cancelled' && !form.session_id) out.session_id = problem('exc', 'session_id', 'required');
  const reason = form.reason.trim();
  if (form.kind === 'cancelled' && reason === '') out.reason = problem('exc', 'reason', 'required');
  else if (reason.length > MAX_REASON) out.reason = problem('exc', 'reason', 'too_long');
  return out;
}

/** The exception as the backend takes it: times only where the kind uses them. */
export function toExceptionInput(form: ExceptionForm): {
  date: string;
  kind: ExceptionKind;
  session_id: string | null;
  start: string | null;
  end: string | null;
  slot_minutes: number | null;
  reason: string;
} {
  const timed = form.kind === 'extra' || (form.kind === 'leave' && !form.whole_day);
  return {
    date: form.date,
    kind: form.kind,
    session_id: form.kind === 'cancelled' ? form.session_id : null,
    start: timed ? form.start : null,
    end: timed ? form.end : null,
    slot_minutes: form.kind === 'extra' ? parseSlot(form.slot) : null,
    reason: form.reason.trim(),
  };
}

// ------------------------------------------------------------------ staff profiles

/** The staff form as typed; the fee is text in major units ("500.00"). */
export interface StaffForm {
  full_name: string;
  role: string;
  user_id: string;
  department_id: string;
  qualifications: string;
  licence_no: string;
  specialty_ids: string[];
  phone: string;
  email: string;
  fee: string;
}

export function emptyStaffForm(): StaffForm {
  return {
    full_name: '',
    role: 'doctor',
    user_id: '',
    department_id: '',
    qualifications: '',
    licence_no: '',
    specialty_ids: [],
    phone: '',
    email: '',
    fee: '',
  };
}

/** The largest fee the backend takes, in minor units. */
export { MAX_FEE_MINOR } from './bindings';

/**
 * A fee typed in major units ("500", "1,500.50", "1 500,5" is not accepted) → minor units;
 * null for blank, NaN when unreadable.
 */
export function parseFee(text: string): number | null {
  const s = text.trim().replace(/[,\s]/g, '');
  if (s === '') return null;
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) return Number.NaN;
  const major = Number(m[1]);
  const minor = Number((m[2] ?? '').padEnd(2, '0'));
  return major * 100 + minor;
}

/** Minor units as major units with two decimals, in the user's locale ("1,500.00"). */
export function formatFee(minor: number | null | undefined): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) return '';
  try {
    return numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(minor / 100);
  } catch {
    return (minor / 100).toFixed(2);
  }
}

/** A fee in minor units as the form's text (major units, no grouping: "1500.50"). */
export function feeText(minor: number | null | undefined): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor) || minor === 0) return '';
  return minor % 100 === 0 ? String(minor / 100) : (minor / 100).toFixed(2);
}

export function staffFormFrom(m: StaffMember): StaffForm {
  return {
    full_name: m.full_name,
    role: m.role,
    user_id: m.user_id ?? '',
    department_id: m.department_id ?? '',
    qualifications: m.qualifications,
    licence_no: m.licence_no,
    specialty_ids: [...m.specialty_ids],
    phone: m.phone,
    email: m.email,
    fee: feeText(m.fee_minor),
  };
}

/** What is missing or wrong in a staff profile before sending it. */
export function staffProblems(form: StaffForm): Record<string, string> {
  const out: Record<string, string> = {};
  const name = form.full_name.trim();
  if (name === '') out.full_name = problem('staff', 'full_name', 'required');
  else if (name.length > STAFF_FIELDS.full_name) out.full_name = problem('staff', 'full_name', 'too_long');
  if (!form.role) out.role = problem('staff', 'role', 'required');
  const fee = parseFee(form.fee);
  if (fee !== null && (Number.isNaN(fee) || fee > MAX_FEE_MINOR)) {
    out.fee_minor = problem('staff', 'fee_minor', Number.isNaN(fee) ? 'invalid' : 'out_of_range');
  }
  return out;
}

/** The profile as the backend takes it; a blank fee is 0 (no fee). */
export function toStaffInput(form: StaffForm): {
  full_name: string;
  role: string;
  user_id: string | null;
  department_id: string | null;
  qualifications: string;
  licence_no: string;
  specialty_ids: string[];
  phone: string;
  email: string;
  fee_minor: number;
} {
  const fee = parseFee(form.fee);
  return {
    full_name: form.full_name.trim(),
    role: form.role,
    user_id: form.user_id || null,
    department_id: form.department_id || null,
    qualifications: form.qualifications.trim(),
    licence_no: form.licence_no.trim(),
    specialty_ids: [...form.specialty_ids],
    phone: form.phone.trim(),
    email: form.email.trim(),
    fee_minor: fee === null || Number.isNaN(fee) ? 0 : fee,
  };
}

/** The doctor profile linked to the signed-in user, if any (a doctor's queue opens on their own). */
export function ownProfile<T extends Pick<StaffMember, 'user_id'>>(staff: readonly T[], userId: string): T | undefined {
  return staff.find((m) => m.user_id === userId);
}

/** Names of the given ids from a list of {id, name}, joined as a list; unknown ids left out. */
export function namesOf(ids: readonly string[], named: readonly { id: string; name: string }[]): string[] {
  return ids.map((id) => named.find((n) => n.id === id)?.name).filter((n): n is string => !!n);
}

/** "12 of 20 free", or just the count of appointments when the day's slots are not known. */
export function dayLoadText(day: { free_slots: number | null; slots: number | null; count: number }): string {
  if (day.slots === null || day.free_slots === null) return t('appt.week.count', { count: day.count });
  if (day.slots === 0) return t('appt.week.noSessions');
  return t('appt.week.free', { free: day.free_slots, total: day.slots });
}

/** The options of a doctor select: a first "choose" option, then "Name (Cardiology)". */
export function doctorOptions(
  doctors: readonly Pick<StaffMember, 'id' | 'full_name' | 'specialty_ids'>[],
  specialties: readonly { id: string; name: string }[],
  placeholder: string,
): { value: string; label: string }[] {
  return [
    { value: '', label: placeholder },
    ...doctors.map((d) => {
      const names = namesOf(d.specialty_ids, specialties);
      return {
        value: d.id,
        label: names.length > 0 ? t('appt.doctorWithSpecialty', { name: d.full_name, specialties: names.join(', ') }) : d.full_name,
      };
    }),
  ];
}

/**
 * The booked appointments a leave touches, by time: all of the day's for a whole-day leave,
 * else those starting inside the leave's hours.
 */
export function affectedByLeave<T extends AppointmentView>(
  items: readonly T[],
  leave: { whole_day: boolean; start: string; end: string },
): T[] {
  const s = hhmmToMinutes(leave.start);
  const e = hhmmToMinutes(leave.end);
  return items
    .filter((v) => v.appointment.status === 'booked' && !v.appointment.walk_in)
    .filter((v) => {
      if (leave.whole_day || s === null || e === null) return true;
      const a = hhmmToMinutes(v.appointment.start);
      return a !== null && a >= s && a < e;
    })
    .sort((a, b) => a.appointment.start.localeCompare(b.appointment.start));
}
