// The ward round's logic on screen (the inpatient chart and the nurse's due list): an order's
// schedule in words, the MAR grouped by day, the due list sorted for a round. Kept apart from
// inpatients.ts (the bed board's) so each stays short; both read the core's exported rules.

import {
  DOSE_HOURS_3,
  DOSE_HOURS_4,
  SHIFT_START_HOURS,
  type Board_Serialize as Board,
  type DueItem_Serialize as DueItem,
  type DuePatient_Serialize as DuePatient,
  type InpatientOrder_Serialize as InpatientOrder,
  type MarEntry_Serialize as MarEntry,
  type OrderInput_Deserialize as OrderInput,
  type Mar_Serialize as Mar,
  type WardDueList_Serialize as WardDueList,
} from './bindings';
import type { SessionInfo } from './bindings';
import { clinicDay, formatList, getTimeZone, formatTime, formatWallClock, parseInstant, t } from './i18n';

/** The stay a chart shows, as its header reads it (the board's card, the admission). */
export interface ChartStay {
  admissionId: string;
  patientId: string;
  name: string;
  mrn: string;
  /** "34 y · F" ('' when not on the board). */
  ageSex: string;
  wardId: string;
  wardName: string;
  /** Null: on the ward's waiting list (or discharged). */
  bedLabel: string | null;
  admittedAt: string;
  dischargedAt: string | null;
  /** Census days passed (day of stay = daysIn + 1); null when not on the board. */
  daysIn: number | null;
  doctorName: string;
  diagnosis: string;
  reason: string;
}

/** What every tab of the inpatient chart is given. */
export interface ChartTabProps {
  session: SessionInfo;
  stay: ChartStay;
}

/** The clinic's dose hours of a pattern of `parts` parts (the core's DOSE_HOURS_3 / _4). */
export function doseHours(parts: number): readonly number[] | null {
  if (parts === 3) return DOSE_HOURS_3;
  if (parts === 4) return DOSE_HOURS_4;
  return null;
}

/**
 * A `times` pattern in words: "1-0-2" → "08:00 and 2 at 20:00" (the clinic's dose hours, a
 * part of 0 left out). Text that is not a pattern is given back as it is.
 */
export function patternWords(pattern: string): string {
  const parts = pattern.split('-').map((p) => p.trim());
  const hours = doseHours(parts.length);
  if (!hours || parts.some((p) => !/^\d$/.test(p))) return pattern;
  const out: string[] = [];
  parts.forEach((p, i) => {
    const n = Number(p);
    if (n === 0) return;
    const time = formatWallClock(hours[i] * 60);
    out.push(n === 1 ? time : t('ward.schedule.countAt', { count: n, time }));
  });
  return out.length ? formatList(out) : pattern;
}

/** An order's schedule in words: "1-0-1 (08:00 and 20:00)", "Every 6 hours", "When needed, at most 4 in 24 hours". */
export function scheduleWords(order: Pick<InpatientOrder, 'kind' | 'schedule' | 'times_pattern' | 'every_hours' | 'prn_max_per_day' | 'start_at'>): string {
  if (order.kind === 'nursing') {
    return order.every_hours ? t('ward.schedule.vitalsEvery', { count: order.every_hours }) : '';
  }
  if (order.kind !== 'medicine') return '';
  switch (order.schedule) {
    case 'times':
      return t('ward.schedule.times', { pattern: order.times_pattern, words: patternWords(order.times_pattern) });
    case 'every':
      return t('ward.schedule.every', { count: order.every_hours ?? 0, from: formatTime(order.start_at) });
    case 'prn':
      return t('ward.schedule.prn', { count: order.prn_max_per_day ?? 0 });
    case 'stat':
      return t('ward.schedule.stat', { time: formatTime(order.start_at) });
    default:
      return '';
  }
}

/** What an order is, in one line: "Paracetamol 500 mg tablet — 1 tablet oral", a test's name, the instruction. */
export function orderWhat(order: Pick<InpatientOrder, 'kind' | 'medicine_name' | 'dose' | 'dose_unit' | 'route' | 'lab_test_name' | 'instructions'>): string {
  switch (order.kind) {
    case 'medicine': {
      const dose = [order.dose, order.dose_unit, order.route].filter((s) => s && s.trim()).join(' ');
      return dose ? `${order.medicine_name} — ${dose}` : order.medicine_name;
    }
    case 'lab':
      return order.lab_test_name;
    default:
      return order.instructions;
  }
}

/** Active orders first (newest first), then stopped ones (most recently stopped first). */
export function splitOrders(orders: readonly InpatientOrder[], now: Date = new Date()): { active: InpatientOrder[]; stopped: InpatientOrder[] } {
  const ended = (o: InpatientOrder) => {
    if (o.stopped_at) return true;
    const end = parseInstant(o.end_at);
    return end !== null && end.getTime() <= now.getTime();
  };
  const newest = (a: string | null, b: string | null) => (b ?? '').localeCompare(a ?? '');
  const active = orders.filter((o) => !ended(o)).sort((a, b) => newest(a.start_at, b.start_at));
  const stopped = orders.filter(ended).sort((a, b) => newest(a.stopped_at ?? a.end_at, b.stopped_at ?? b.end_at));
  return { active, stopped };
}

export interface MarRow {
  entry: MarEntry;
  order: InpatientOrder | null;
  /** The dose's time: its scheduled time, or when a PRN dose was given. */
  at: string;
  prn: boolean;
}

export interface MarDay {
  /** The clinic's day, YYYY-MM-DD. */
  day: string;
  rows: MarRow[];
}

/**
 * The MAR by the clinic's day (newest day first) and, within a day, by the dose's time (then
 * when it was recorded): each entry with its order. Duplicates ("recorded twice") stay, next
 * to the entry that counts.
 */
export function marByDay(mar: Mar): MarDay[] {
  const orders = new Map(mar.orders.map((o) => [o.id, o]));
  const rows: MarRow[] = mar.entries.map((entry) => ({
    entry,
    order: orders.get(entry.order_id) ?? null,
    at: entry.scheduled_at ?? entry.given_at,
    prn: entry.scheduled_at === null,
  }));
  const time = (s: string) => parseInstant(s)?.getTime() ?? 0;
  rows.sort((a, b) => time(a.at) - time(b.at) || time(a.entry.given_at) - time(b.entry.given_at) || a.entry.id.localeCompare(b.entry.id));
  const days: MarDay[] = [];
  for (const row of rows) {
    const instant = parseInstant(row.at);
    const day = instant ? clinicDay(instant) : row.at.slice(0, 10);
    const last = days[days.length - 1];
    if (last && last.day === day) last.rows.push(row);
    else days.push({ day, rows: [row] });
  }
  return days.reverse();
}

export interface RoundPatient extends DuePatient {
  hasAllergies: boolean;
  overdue: number;
}

/**
 * The due list as a round walks it: patients in beds by bed label (the waiting list after
 * them), each one's items overdue first, then by time; the allergy flag from the board (the
 * due list does not carry it). Patients with nothing due stay listed (PRN doses may still be
 * given).
 */
export function roundPatients(list: WardDueList, board: Board | null): RoundPatient[] {
  const allergic = new Set<string>();
  for (const w of board?.wards ?? []) {
    for (const b of w.beds) if (b.occupant?.has_allergies) allergic.add(b.occupant.admission_id);
    for (const e of w.waiting) if (e.occupant.has_allergies) allergic.add(e.occupant.admission_id);
  }
  const byBed = (a: DuePatient, b: DuePatient) => {
    if ((a.bed_id === null) !== (b.bed_id === null)) return a.bed_id === null ? 1 : -1;
    return a.bed_label.localeCompare(b.bed_label, undefined, { numeric: true }) || a.name.localeCompare(b.name);
  };
  return [...list.patients].sort(byBed).map((p) => ({
    ...p,
    items: sortItems(p.items),
    hasAllergies: allergic.has(p.admission_id),
    overdue: p.items.filter((i) => i.status === 'overdue').length,
  }));
}

const MINUTES_AN_HOUR = 60;

/**
 * How late an item is, in words: "in 20 minutes", "on time", "15 minutes late", and past an
 * hour "2 h 5 min late" (the due list gives minutes; negative: not yet due).
 */
export function lateWords(minutesLate: number): string {
  if (minutesLate < 0) return t('ward.round.inMinutes', { count: -minutesLate });
  if (minutesLate === 0) return t('ward.round.onTime');
  if (minutesLate < MINUTES_AN_HOUR) return t('ward.round.lateMinutes', { count: minutesLate });
  return t('ward.round.lateHours', { hours: Math.floor(minutesLate / MINUTES_AN_HOUR), minutes: minutesLate % MINUTES_AN_HOUR });
}

/** Overdue first, then by when due (vitals after doses at the same time). */
export function sortItems(items: readonly DueItem[]): DueItem[] {
  const rank = (i: DueItem) => (i.status === 'overdue' ? 0 : 1);
  return [...items].sort(
    (a, b) => rank(a) - rank(b) || a.due_at.localeCompare(b.due_at) || (a.kind === b.kind ? 0 : a.kind === 'dose' ? -1 : 1),
  );
}

/**
 * A nurse's shift by the clinic's hour, by the core's shift times (`SHIFT_START_HOURS`:
 * morning, evening and night start; the night runs past midnight to the morning's start).
 */
export function shiftAt(hour: number): 'morning' | 'evening' | 'night' {
  const [morning, evening, night] = SHIFT_START_HOURS;
  if (hour >= morning && hour < evening) return 'morning';
  if (hour >= evening && hour < night) return 'evening';
  return 'night';
}

const HOURS_A_DAY = 24;

/** The clinic's hour (0-23) of an instant, in its time zone. */
export function clinicHour(date: Date = new Date()): number {
  try {
    // Not dateTimeFormat: the clinic's 12-hour clock would give 1-12.
    const parts = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hourCycle: 'h23', timeZone: getTimeZone() }).formatToParts(date);
    const h = Number(parts.find((p) => p.type === 'hour')?.value);
    // 'h23' gives 0 to 23; some engines still write midnight as "24".
    if (Number.isInteger(h)) return h % HOURS_A_DAY;
  } catch {
    // fall through
  }
  return date.getUTCHours();
}

/** The active PRN medicine orders of a stay (for "Give" on the round). */
export function prnOrders(orders: readonly InpatientOrder[], now: Date = new Date()): InpatientOrder[] {
  return splitOrders(orders, now).active.filter((o) => o.kind === 'medicine' && o.schedule === 'prn');
}

// ------------------------------------------------------------------ the order form

export const ORDER_KINDS = ['medicine', 'lab', 'diet', 'nursing'] as const;
export const SCHEDULES = ['times', 'every', 'prn', 'stat'] as const;

export interface OrderForm {
  kind: string;
  medicine_id: string;
  dose: string;
  dose_unit: string;
  route: string;
  schedule: string;
  times_pattern: string;
  every_hours: string;
  prn_max_per_day: string;
  lab_test_id: string;
  instructions: string;
  /** datetime-local text in the clinic's zone; empty: now. */
  start: string;
  end: string;
}

export function emptyOrderForm(kind = 'medicine'): OrderForm {
  return {
    kind,
    medicine_id: '',
    dose: '',
    dose_unit: 'tablet',
    route: 'oral',
    schedule: 'times',
    times_pattern: '1-0-1',
    every_hours: '',
    prn_max_per_day: '',
    lab_test_id: '',
    instructions: '',
    start: '',
    end: '',
  };
}

/** An order's form filled from the order (a change starts from what was ordered; a new start). */
export function orderFormOf(o: InpatientOrder): OrderForm {
  return {
    kind: o.kind,
    medicine_id: o.medicine_id ?? '',
    dose: o.dose,
    dose_unit: o.dose_unit || 'tablet',
    route: o.route,
    schedule: o.schedule ?? 'times',
    times_pattern: o.times_pattern || '1-0-1',
    every_hours: o.every_hours === null ? '' : String(o.every_hours),
    prn_max_per_day: o.prn_max_per_day === null ? '' : String(o.prn_max_per_day),
    lab_test_id: o.lab_test_id ?? '',
    instructions: o.instructions,
    start: '',
    end: '',
  };
}

/** A whole number typed in a box: null when empty, NaN when it is not one (the core says why). */
function wholeNumber(text: string): number | null {
  const s = text.trim();
  if (s === '') return null;
  return /^\d{1,4}$/.test(s) ? Number(s) : Number.NaN;
}

/**
 * The command's input from the form: only what the kind (and a medicine's schedule) uses is
 * sent, so a field left from another kind never reaches the core. `toUtc` reads a
 * datetime-local text in the clinic's zone. Problems found here (a number that is not one, a
 * time that is not one) are named by the core's field names.
 */
export function toOrderInput(
  form: OrderForm,
  admissionId: string,
  toUtc: (local: string) => string | null,
): { input: OrderInput | null; problems: Record<string, string> } {
  const problems: Record<string, string> = {};
  const num = (field: string, text: string): number | null => {
    const n = wholeNumber(text);
    if (n !== null && Number.isNaN(n)) {
      problems[field] = t('ward.order.wholeNumber');
      return null;
    }
    return n;
  };
  const time = (field: string, text: string): string | null => {
    if (!text.trim()) return null;
    const utc = toUtc(text);
    if (!utc) problems[field] = t('validation.invalid');
    return utc;
  };
  const input: OrderInput = {
    admission_id: admissionId,
    kind: form.kind,
    medicine_id: null,
    dose: '',
    dose_unit: '',
    route: '',
    schedule: null,
    times_pattern: '',
    every_hours: null,
    prn_max_per_day: null,
    lab_test_id: null,
    instructions: form.instructions.trim(),
    start_at: time('start_at', form.start),
    end_at: time('end_at', form.end),
  };
  switch (form.kind) {
    case 'medicine':
      input.medicine_id = form.medicine_id || null;
      input.dose = form.dose.trim();
      input.dose_unit = form.dose_unit.trim();
      input.route = form.route.trim();
      input.schedule = form.schedule || null;
      if (form.schedule === 'times') input.times_pattern = form.times_pattern.trim();
      if (form.schedule === 'every') input.every_hours = num('every_hours', form.every_hours);
      if (form.schedule === 'prn') input.prn_max_per_day = num('prn_max_per_day', form.prn_max_per_day);
      break;
    case 'lab':
      input.lab_test_id = form.lab_test_id || null;
      break;
    case 'nursing':
      input.every_hours = num('every_hours', form.every_hours);
      break;
  }
  return Object.keys(problems).length ? { input: null, problems } : { input, problems };
}
