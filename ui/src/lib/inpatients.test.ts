import { describe, expect, it } from 'vitest';
import type { Board_Serialize as Board, BedCard_Serialize as BedCard, Permission } from './bindings';
import {
  ageSex,
  allowedPermissions,
  bedActions,
  boardTotals,
  clinicLocalToUtc,
  dueLines,
  freeBeds,
  parseTags,
  reservedBed,
  swapPartners,
  takesPatient,
} from './inpatients';

function card(id: string, state: BedCard['state'], admission: string | null = null, heldFor: string | null = null): BedCard {
  return {
    reservation: heldFor
      ? { patient_id: heldFor, name: `Patient ${heldFor}`, mrn: 'MRN', until: '2026-12-03T00:00:00.000Z', note: '' }
      : null,
    bed_id: id,
    label: id.toUpperCase(),
    room_id: null,
    room_name: '',
    tags: [],
    state,
    reason: '',
    occupant: admission
      ? {
          admission_id: admission,
          patient_id: `p-${admission}`,
          name: `Patient ${admission}`,
          mrn: 'MRN',
          sex: 'female',
          age_years: 30,
          admitted_at: '2026-12-01T10:00:00Z',
          days_in: 2,
          doctor_name: 'Rao',
          has_allergies: false,
          due: null,
        }
      : null,
  };
}

const counts = (occupied: number, free: number, reserved = 0) => ({
  beds: occupied + free + reserved,
  occupied,
  free,
  reserved,
  cleaning: 0,
  out_of_service: 0,
  waiting: 1,
});

const board: Board = {
  wards: [
    {
      ward: { id: 'w1', name: 'General', kind: 'general', bed_service_id: null, active: true },
      counts: counts(2, 1),
      beds: [card('a', 'occupied', 'x'), card('b', 'free'), card('c', 'occupied', 'y')],
      waiting: [],
    },
    {
      ward: { id: 'w2', name: 'ICU', kind: 'icu', bed_service_id: null, active: true },
      counts: counts(0, 1, 1),
      beds: [card('d', 'free'), card('e', 'cleaning'), card('f', 'reserved', null, 'p-z')],
      waiting: [],
    },
  ],
  conflicts: [],
  tags: [],
};

describe('bedActions', () => {
  const all: Permission[] = ['inpatients_transfer', 'inpatients_discharge', 'beds_housekeeping', 'wards_manage'];
  it('offers moves and discharge on an occupied bed only with their permissions', () => {
    expect(bedActions({ state: 'occupied' }, all, { free: 1, occupied: 2 })).toEqual(['transfer', 'swap', 'discharge']);
    expect(bedActions({ state: 'occupied' }, ['inpatients_discharge'], { free: 1, occupied: 2 })).toEqual(['discharge']);
    expect(bedActions({ state: 'occupied' }, all, { free: 0, occupied: 1 })).toEqual(['discharge']);
  });
  it('offers housekeeping and service by their own permissions', () => {
    expect(bedActions({ state: 'free' }, all, { free: 1, occupied: 0 })).toEqual(['to_cleaning', 'out_of_service']);
    expect(bedActions({ state: 'free' }, [...all, 'inpatients_admit'], { free: 1, occupied: 0 })).toEqual([
      'reserve',
      'to_cleaning',
      'out_of_service',
    ]);
    expect(bedActions({ state: 'free' }, ['beds_housekeeping'], { free: 1, occupied: 0 })).toEqual(['to_cleaning']);
    expect(bedActions({ state: 'cleaning' }, ['wards_manage'], { free: 0, occupied: 0 })).toEqual([]);
    expect(bedActions({ state: 'cleaning' }, ['beds_housekeeping'], { free: 0, occupied: 0 })).toEqual(['cleaned']);
    expect(bedActions({ state: 'out_of_service' }, ['wards_manage'], { free: 0, occupied: 0 })).toEqual(['back_in_service']);
  });
});

describe('reserved beds', () => {
  it('are reserved and cancelled by whoever admits, and take nothing else', () => {
    expect(bedActions({ state: 'reserved' }, ['inpatients_admit', 'wards_manage', 'beds_housekeeping'], { free: 1, occupied: 0 })).toEqual([
      'cancel_reservation',
    ]);
    expect(bedActions({ state: 'reserved' }, ['wards_manage', 'beds_housekeeping'], { free: 1, occupied: 0 })).toEqual([]);
    expect(bedActions({ state: 'free' }, ['inpatients_admit'], { free: 0, occupied: 0 })).toEqual(['reserve']);
  });
  it('take only their own patient', () => {
    const held = card('f', 'reserved', null, 'p-z');
    expect(takesPatient(held, 'p-z')).toBe(true);
    expect(takesPatient(held, 'p-x')).toBe(false);
    expect(takesPatient(held, null)).toBe(false);
    expect(takesPatient(card('b', 'free'), null)).toBe(true);
    expect(takesPatient(card('e', 'cleaning'), 'p-z')).toBe(false);
  });
  it('are found for their patient', () => {
    expect(reservedBed(board, 'p-z')).toEqual({ wardId: 'w2', bedId: 'f' });
    expect(reservedBed(board, 'p-x')).toBeNull();
  });
});

describe('move targets', () => {
  it('lists the free beds of every ward but the bed itself', () => {
    expect(freeBeds(board).map((b) => b.bedId)).toEqual(['b', 'd']);
    expect(freeBeds(board, 'b').map((b) => [b.bedId, b.wardName])).toEqual([['d', 'ICU']]);
  });
  it('adds the bed reserved for the patient moved, no other reserved bed', () => {
    expect(freeBeds(board, null, 'p-z').map((b) => b.bedId)).toEqual(['b', 'd', 'f']);
    expect(freeBeds(board, null, 'p-x').map((b) => b.bedId)).toEqual(['b', 'd']);
  });
  it('lists the other occupied beds as swap partners', () => {
    expect(swapPartners(board, 'a').map((b) => [b.bedId, b.admissionId, b.patientName])).toEqual([['c', 'y', 'Patient y']]);
  });
});

describe('small helpers', () => {
  it('parses tags', () => {
    expect(parseTags(' Oxygen, window,,oxygen ')).toEqual(['oxygen', 'window']);
    expect(parseTags('')).toEqual([]);
  });
  it('words age and sex', () => {
    expect(ageSex(34, 'female')).toBe('34 y · F');
    expect(ageSex(null, 'male')).toBe('M');
    expect(ageSex(2, '')).toBe('2 y');
  });
  it('sums the wards', () => {
    expect(boardTotals(board)).toEqual({ beds: 5, occupied: 2, free: 2, reserved: 1, cleaning: 0, out_of_service: 0, waiting: 2 });
  });
  it('reads a typed time in the clinic zone', () => {
    expect(clinicLocalToUtc('2026-12-05T14:30', 'Asia/Kolkata')).toBe('2026-12-05T09:00:00Z');
    expect(clinicLocalToUtc('2026-07-01T12:00', 'Europe/London')).toBe('2026-07-01T11:00:00Z');
    expect(clinicLocalToUtc('2026-12-05T14:30', undefined)).toBe('2026-12-05T14:30:00Z');
    expect(clinicLocalToUtc('yesterday', 'Asia/Kolkata')).toBeNull();
  });
});

describe('dueLines', () => {
  it('says nothing without counts or with nothing due', () => {
    expect(dueLines(null)).toEqual([]);
    expect(dueLines({ doses: 0, vitals: 0, overdue: 0 })).toEqual([]);
  });
  it('puts what is overdue first, then doses, then vitals', () => {
    expect(dueLines({ doses: 2, vitals: 1, overdue: 1 })).toEqual([
      { key: 'inpatients.card.overdue', count: 1, overdue: true },
      { key: 'inpatients.card.doses', count: 2, overdue: false },
      { key: 'inpatients.card.vitals', count: 1, overdue: false },
    ]);
    expect(dueLines({ doses: 0, vitals: 1, overdue: 0 }).map((l) => l.key)).toEqual(['inpatients.card.vitals']);
  });
});

describe('allowedPermissions', () => {
  it('drops what the clinic withholds and keeps the rest', () => {
    const mine: Permission[] = ['inpatients_view', 'inpatients_admit', 'inpatients_transfer'];
    expect(allowedPermissions(mine, [])).toEqual(mine);
    expect(allowedPermissions(mine, ['inpatients_admit', 'inpatients_transfer'])).toEqual(['inpatients_view']);
  });
});
