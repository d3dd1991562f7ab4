// The bed board's logic: what a card shows and offers, and the beds a move may go to.

import type { BedCard_Serialize as BedCard, BedState, Board_Serialize as Board, DueSummary, Permission, WardKind } from './bindings';
import type { MessageKey } from './i18n';

export const BED_STATE_KEYS: Record<BedState, MessageKey> = {
  free: 'inpatients.state.free',
  occupied: 'inpatients.state.occupied',
  reserved: 'inpatients.state.reserved',
  cleaning: 'inpatients.state.cleaning',
  out_of_service: 'inpatients.state.out_of_service',
};

export const WARD_KINDS: readonly WardKind[] = ['general', 'icu', 'maternity', 'paediatric', 'private', 'other'];

export const DISCHARGE_TYPES = ['home', 'referred', 'against_advice', 'deceased'] as const;

/** What a card offers; each one only with the permission the core asks for. */
export type BedAction =
  | 'transfer'
  | 'swap'
  | 'discharge'
  | 'to_cleaning'
  | 'cleaned'
  | 'out_of_service'
  | 'back_in_service'
  | 'reserve'
  | 'cancel_reservation';

/**
 * The actions of a bed in its state for a user with these permissions (the core's: moves are
 * inpatients_transfer, cleaning beds_housekeeping, service wards_manage, reserving a bed and
 * cancelling it inpatients_admit); a move needs a target (another free bed, another occupied
 * bed for a swap).
 */
export function bedActions(card: Pick<BedCard, 'state'>, permissions: readonly Permission[], targets: { free: number; occupied: number }): BedAction[] {
  const may = (p: Permission) => permissions.includes(p);
  const out: BedAction[] = [];
  switch (card.state) {
    case 'occupied':
      if (may('inpatients_transfer') && targets.free > 0) out.push('transfer');
      if (may('inpatients_transfer') && targets.occupied > 1) out.push('swap');
      if (may('inpatients_discharge')) out.push('discharge');
      break;
    case 'free':
      if (may('inpatients_admit')) out.push('reserve');
      if (may('beds_housekeeping')) out.push('to_cleaning');
      if (may('wards_manage')) out.push('out_of_service');
      break;
    case 'cleaning':
      if (may('beds_housekeeping')) out.push('cleaned');
      break;
    case 'out_of_service':
      if (may('wards_manage')) out.push('back_in_service');
      break;
    case 'reserved':
      if (may('inpatients_admit')) out.push('cancel_reservation');
      break;
  }
  return out;
}

export interface BedChoice {
  bedId: string;
  label: string;
  wardName: string;
  admissionId: string | null;
  patientName: string;
}

type BedRow = BedChoice & { state: BedState; heldFor: string | null };

function allBeds(board: Board): BedRow[] {
  return board.wards.flatMap((w) =>
    w.beds.map((b) => ({
      bedId: b.bed_id,
      label: b.room_name ? `${b.room_name} · ${b.label}` : b.label,
      wardName: w.ward.name,
      admissionId: b.occupant?.admission_id ?? null,
      patientName: b.occupant?.name ?? '',
      state: b.state,
      heldFor: b.reservation?.patient_id ?? null,
    })),
  );
}

/** Whether a bed may take this patient now: free, or reserved for them (the core's rule). */
export function takesPatient(card: Pick<BedCard, 'state' | 'reservation'>, patientId: string | null): boolean {
  if (card.state === 'free') return true;
  return card.state === 'reserved' && patientId !== null && card.reservation?.patient_id === patientId;
}

/** The bed reserved for a patient on the board, and its ward, if any. */
export function reservedBed(board: Board, patientId: string): { wardId: string; bedId: string } | null {
  for (const w of board.wards) {
    const held = w.beds.find((b) => b.state === 'reserved' && b.reservation?.patient_id === patientId);
    if (held) return { wardId: w.ward.id, bedId: held.bed_id };
  }
  return null;
}

/**
 * Beds of every ward on the board that may take the patient (a transfer may change ward):
 * free ones and one reserved for them; the bed itself left out.
 */
export function freeBeds(board: Board, exceptBedId: string | null = null, patientId: string | null = null): BedChoice[] {
  return allBeds(board)
    .filter((b) => b.bedId !== exceptBedId && (b.state === 'free' || (b.state === 'reserved' && patientId !== null && b.heldFor === patientId)))
    .map(({ state: _s, heldFor: _h, ...b }) => b);
}

/** Occupied beds other than this one: the partners of a swap. */
export function swapPartners(board: Board, bedId: string): BedChoice[] {
  return allBeds(board)
    .filter((b) => b.state === 'occupied' && b.bedId !== bedId && b.admissionId)
    .map(({ state: _s, heldFor: _h, ...b }) => b);
}

/** Tags typed as "oxygen, window": trimmed, lower-cased, blanks and repeats left out. */
export function parseTags(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const tag = raw.trim().toLowerCase();
    if (tag && !out.includes(tag)) out.push(tag);
  }
  return out;
}

/** "34 y · F" (age unknown: the sex alone). */
export function ageSex(age: number | null, sex: string): string {
  const s = sex ? sex.charAt(0).toUpperCase() : '';
  if (age === null) return s;
  return s ? `${age} y · ${s}` : `${age} y`;
}

/** Whole-board counts (the sum of the wards'). */
export function boardTotals(board: Board): {
  beds: number;
  occupied: number;
  free: number;
  reserved: number;
  cleaning: number;
  out_of_service: number;
  waiting: number;
} {
  const t = { beds: 0, occupied: 0, free: 0, reserved: 0, cleaning: 0, out_of_service: 0, waiting: 0 };
  for (const w of board.wards) {
    t.beds += w.counts.beds;
    t.occupied += w.counts.occupied;
    t.free += w.counts.free;
    t.reserved += w.counts.reserved;
    t.cleaning += w.counts.cleaning;
    t.out_of_service += w.counts.out_of_service;
    t.waiting += w.counts.waiting;
  }
  return t;
}

/** The wall clock of `instant` in `zone`, as milliseconds of a UTC date with the same fields. */
function wallClockMs(instant: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
}

/**
 * A "YYYY-MM-DDTHH:MM" typed on a datetime-local field, read in the clinic's time zone (not the
 * computer's), as a UTC RFC 3339 instant; null when it is not such a text.
 */
export function clinicLocalToUtc(local: string, zone: string | undefined): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local.trim());
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  if (Number.isNaN(wall)) return null;
  if (!zone) return new Date(wall).toISOString().replace('.000Z', 'Z');
  // Two rounds settle the zone's offset at that instant (also across a DST change).
  let utc = wall - (wallClockMs(wall, zone) - wall);
  utc = wall - (wallClockMs(utc, zone) - utc);
  return new Date(utc).toISOString().replace('.000Z', 'Z');
}

/** One line of what a bed card says is due: a message and its count. */
export interface DueLine {
  key: MessageKey;
  count: number;
  overdue: boolean;
}

/**
 * What an occupied card says is due, from the core's counts (`Occupant.due`): overdue first,
 * then doses, then vitals; nothing when nothing is due or the user may not see the clinical
 * record (the core sends no counts then).
 */
export function dueLines(due: DueSummary | null | undefined): DueLine[] {
  if (!due) return [];
  const lines: DueLine[] = [];
  if (due.overdue > 0) lines.push({ key: 'inpatients.card.overdue', count: due.overdue, overdue: true });
  if (due.doses > 0) lines.push({ key: 'inpatients.card.doses', count: due.doses, overdue: false });
  if (due.vitals > 0) lines.push({ key: 'inpatients.card.vitals', count: due.vitals, overdue: false });
  return lines;
}

/**
 * The caller's permissions less those the clinic's ward settings withhold from them now
 * (`WardSettings.withheld`, from the core: e.g. reception's moves when the clinic keeps them
 * to doctors), so a card offers only what the core will do.
 */
export function allowedPermissions(permissions: readonly Permission[], withheld: readonly Permission[]): Permission[] {
  return permissions.filter((p) => !withheld.includes(p));
}
