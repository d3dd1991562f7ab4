import { afterEach, describe, expect, it } from 'vitest';
import {
  DOSE_HOURS_3,
  type Board_Serialize as Board,
  type DueItem_Serialize as DueItem,
  type InpatientOrder_Serialize as InpatientOrder,
  type MarEntry_Serialize as MarEntry,
  type WardDueList_Serialize as WardDueList,
} from './bindings';
import { setFormats } from './i18n';
import {
  clinicHour,
  emptyOrderForm,
  lateWords,
  marByDay,
  orderFormOf,
  orderWhat,
  patternWords,
  prnOrders,
  roundPatients,
  scheduleWords,
  shiftAt,
  sortItems,
  splitOrders,
  toOrderInput,
} from './wardRound';

afterEach(() => setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: null }));

function order(id: string, over: Partial<InpatientOrder> = {}): InpatientOrder {
  return {
    id,
    admission_id: 'adm',
    kind: 'medicine',
    medicine_id: 'med',
    medicine_name: 'Paracetamol 500 mg tablet',
    dose: '1',
    dose_unit: 'tablet',
    route: 'oral',
    schedule: 'times',
    times_pattern: '1-0-1',
    every_hours: null,
    prn_max_per_day: null,
    lab_test_id: null,
    lab_test_name: '',
    lab_order_id: null,
    instructions: '',
    start_at: '2026-12-05T10:00:00Z',
    end_at: null,
    ordered_by: 'doc',
    replaces_id: null,
    stopped_at: null,
    stop_reason: '',
    changed_twice_with: null,
    ...over,
  };
}

function entry(id: string, over: Partial<MarEntry> = {}): MarEntry {
  return {
    id,
    order_id: 'o1',
    scheduled_at: '2026-12-05T08:00:00Z',
    outcome: 'given',
    reason: '',
    given_at: '2026-12-05T08:05:00Z',
    recorded_by: 'n',
    recorded_by_name: 'Nisha',
    duplicate_of: null,
    ...over,
  };
}

describe('schedules in words', () => {
  it('reads a pattern at the core’s dose hours, leaving out the zeros', () => {
    expect(DOSE_HOURS_3).toEqual([8, 14, 20]);
    expect(patternWords('1-0-1')).toBe('08:00 and 20:00');
    expect(patternWords('1-0-2')).toBe('08:00 and 2 at 20:00');
    expect(patternWords('1-1-1-1')).toBe('08:00, 12:00, 16:00, and 20:00');
    // Not a pattern: shown as written.
    expect(patternWords('1-0')).toBe('1-0');
    expect(patternWords('a-b-c')).toBe('a-b-c');
    expect(patternWords('0-0-0')).toBe('0-0-0');
  });

  it('follows the clinic’s hour cycle', () => {
    setFormats({ locale: 'en-US', hour_cycle: 'h12', time_zone: null });
    expect(patternWords('0-1-0')).toMatch(/^0?2:00\s?PM$/i);
  });

  it('says each schedule and the vitals of a nursing instruction', () => {
    expect(scheduleWords(order('a'))).toBe('1-0-1 (08:00 and 20:00)');
    expect(scheduleWords(order('a', { schedule: 'every', every_hours: 6 }))).toBe('Every 6 hours from 10:00');
    expect(scheduleWords(order('a', { schedule: 'every', every_hours: 1 }))).toBe('Every 1 hour from 10:00');
    expect(scheduleWords(order('a', { schedule: 'prn', prn_max_per_day: 4 }))).toBe('When needed, at most 4 times in 24 hours');
    expect(scheduleWords(order('a', { schedule: 'stat' }))).toBe('Once (STAT) at 10:00');
    expect(scheduleWords(order('a', { kind: 'nursing', schedule: null, every_hours: 4 }))).toBe('Vitals every 4 hours');
    expect(scheduleWords(order('a', { kind: 'nursing', schedule: null, every_hours: null }))).toBe('');
    expect(scheduleWords(order('a', { kind: 'diet', schedule: null }))).toBe('');
  });

  it('reads times in the clinic’s zone', () => {
    setFormats({ locale: 'en-IN', hour_cycle: 'h24', time_zone: 'Asia/Kolkata' });
    expect(scheduleWords(order('a', { schedule: 'stat' }))).toBe('Once (STAT) at 15:30');
  });

  it('names what an order is', () => {
    expect(orderWhat(order('a'))).toBe('Paracetamol 500 mg tablet — 1 tablet oral');
    expect(orderWhat(order('a', { kind: 'lab', lab_test_name: 'Haemoglobin' }))).toBe('Haemoglobin');
    expect(orderWhat(order('a', { kind: 'diet', instructions: 'Soft diet' }))).toBe('Soft diet');
  });
});

describe('orders active and stopped', () => {
  const now = new Date('2026-12-06T10:00:00Z');
  it('puts stopped and ended orders apart, newest first', () => {
    const orders = [
      order('old', { start_at: '2026-12-04T10:00:00Z' }),
      order('new', { start_at: '2026-12-05T10:00:00Z' }),
      order('stopped', { stopped_at: '2026-12-05T12:00:00Z', stop_reason: 'changed' }),
      order('ended', { end_at: '2026-12-06T09:00:00Z' }),
      order('ends-later', { end_at: '2026-12-07T09:00:00Z', start_at: '2026-12-03T10:00:00Z' }),
    ];
    const { active, stopped } = splitOrders(orders, now);
    expect(active.map((o) => o.id)).toEqual(['new', 'old', 'ends-later']);
    expect(stopped.map((o) => o.id)).toEqual(['ended', 'stopped']);
  });

  it('offers the active PRN orders for a dose when needed', () => {
    const orders = [order('p', { schedule: 'prn', prn_max_per_day: 4 }), order('t'), order('gone', { schedule: 'prn', stopped_at: '2026-12-05T12:00:00Z' })];
    expect(prnOrders(orders, now).map((o) => o.id)).toEqual(['p']);
  });
});

describe('the MAR by day', () => {
  it('groups doses by the clinic’s day, newest day first, times in order, duplicates kept', () => {
    const mar = {
      orders: [order('o1'), order('o2', { schedule: 'prn', medicine_name: 'Ibuprofen 400 mg tablet' })],
      entries: [
        entry('e3', { scheduled_at: '2026-12-05T20:00:00Z', given_at: '2026-12-05T20:10:00Z' }),
        entry('e1'),
        entry('dup', { given_at: '2026-12-05T08:20:00Z', duplicate_of: 'e1' }),
        entry('e4', { scheduled_at: '2026-12-06T08:00:00Z', outcome: 'refused', reason: 'nausea', given_at: '2026-12-06T08:30:00Z' }),
        entry('prn', { order_id: 'o2', scheduled_at: null, given_at: '2026-12-05T13:00:00Z', reason: 'fever' }),
      ],
    };
    const days = marByDay(mar);
    expect(days.map((d) => d.day)).toEqual(['2026-12-06', '2026-12-05']);
    expect(days[1]!.rows.map((r) => r.entry.id)).toEqual(['e1', 'dup', 'prn', 'e3']);
    expect(days[1]!.rows[2]!.prn).toBe(true);
    expect(days[1]!.rows[2]!.order?.id).toBe('o2');
    expect(days[0]!.rows[0]!.entry.outcome).toBe('refused');
  });

  it('takes the day in the clinic’s zone', () => {
    setFormats({ locale: 'en-IN', hour_cycle: 'h24', time_zone: 'Asia/Kolkata' });
    // 20:00 UTC is 01:30 the next day in India.
    const days = marByDay({ orders: [order('o1')], entries: [entry('late', { scheduled_at: '2026-12-05T20:00:00Z' })] });
    expect(days.map((d) => d.day)).toEqual(['2026-12-06']);
  });

  it('is empty without entries', () => {
    expect(marByDay({ orders: [order('o1')], entries: [] })).toEqual([]);
  });
});

describe('the due list on the round', () => {
  const item = (over: Partial<DueItem>): DueItem => ({
    kind: 'dose',
    order_id: 'o',
    what: 'Paracetamol',
    count: 1,
    due_at: '2026-12-06T08:00:00Z',
    status: 'due',
    minutes_late: 10,
    last_vitals_at: null,
    ...over,
  });
  const list: WardDueList = {
    ward_id: 'w',
    at: '2026-12-06T09:00:00Z',
    overdue: 1,
    due: 2,
    patients: [
      { admission_id: 'a10', patient_id: 'p10', name: 'Ten', mrn: 'M10', bed_id: 'b10', bed_label: 'A10', items: [] },
      { admission_id: 'aw', patient_id: 'pw', name: 'Waiting', mrn: 'MW', bed_id: null, bed_label: '', items: [item({})] },
      {
        admission_id: 'a2',
        patient_id: 'p2',
        name: 'Two',
        mrn: 'M2',
        bed_id: 'b2',
        bed_label: 'A2',
        items: [item({ kind: 'vitals', due_at: '2026-12-06T07:00:00Z' }), item({ status: 'overdue', due_at: '2026-12-06T07:30:00Z' })],
      },
    ],
  };
  const board = {
    wards: [
      {
        ward: { id: 'w', name: 'General', kind: 'general', bed_service_id: null, active: true },
        counts: { beds: 2, occupied: 2, free: 0, reserved: 0, cleaning: 0, out_of_service: 0, waiting: 1 },
        beds: [
          {
            bed_id: 'b2',
            label: 'A2',
            room_id: null,
            room_name: '',
            tags: [],
            state: 'occupied',
            reason: '',
            occupant: { admission_id: 'a2', patient_id: 'p2', name: 'Two', mrn: 'M2', sex: 'male', age_years: 40, admitted_at: '', days_in: 0, doctor_name: '', has_allergies: true, due: null },
            reservation: null,
          },
        ],
        waiting: [],
      },
    ],
    conflicts: [],
    tags: [],
  } as Board;

  it('walks the beds in label order (numbers as numbers), the waiting list last, with allergy flags', () => {
    const rows = roundPatients(list, board);
    expect(rows.map((r) => r.name)).toEqual(['Two', 'Ten', 'Waiting']);
    expect(rows.map((r) => r.hasAllergies)).toEqual([true, false, false]);
    expect(rows[0]!.overdue).toBe(1);
    expect(roundPatients(list, null).every((r) => !r.hasAllergies)).toBe(true);
  });

  it('puts overdue items first, then by time, doses before vitals at the same time', () => {
    const sorted = sortItems([
      item({ kind: 'vitals', due_at: '2026-12-06T08:00:00Z' }),
      item({ due_at: '2026-12-06T08:00:00Z' }),
      item({ status: 'overdue', due_at: '2026-12-06T06:00:00Z' }),
      item({ due_at: '2026-12-06T07:00:00Z' }),
    ]);
    expect(sorted.map((i) => `${i.status}/${i.kind}/${i.due_at.slice(11, 16)}`)).toEqual([
      'overdue/dose/06:00',
      'due/dose/07:00',
      'due/dose/08:00',
      'due/vitals/08:00',
    ]);
  });
});

describe('the order form', () => {
  const toUtc = (local: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(local) ? `${local}:00Z` : null);

  it('sends only what a medicine’s schedule uses', () => {
    const form = { ...emptyOrderForm(), medicine_id: 'm', dose: ' 1 ', every_hours: '6', prn_max_per_day: '3', lab_test_id: 'x' };
    const { input } = toOrderInput(form, 'adm', toUtc);
    expect(input).toMatchObject({
      admission_id: 'adm',
      kind: 'medicine',
      medicine_id: 'm',
      dose: '1',
      schedule: 'times',
      times_pattern: '1-0-1',
      every_hours: null,
      prn_max_per_day: null,
      lab_test_id: null,
      start_at: null,
    });
    expect(toOrderInput({ ...form, schedule: 'every' }, 'adm', toUtc).input).toMatchObject({ every_hours: 6, times_pattern: '', prn_max_per_day: null });
    expect(toOrderInput({ ...form, schedule: 'prn' }, 'adm', toUtc).input).toMatchObject({ prn_max_per_day: 3, every_hours: null });
  });

  it('sends a nursing instruction’s vitals interval, and nothing of a medicine', () => {
    const form = { ...emptyOrderForm('nursing'), medicine_id: 'm', dose: '1', instructions: ' Check vitals ', every_hours: '4' };
    expect(toOrderInput(form, 'adm', toUtc).input).toMatchObject({
      kind: 'nursing',
      medicine_id: null,
      dose: '',
      schedule: null,
      every_hours: 4,
      instructions: 'Check vitals',
    });
    expect(toOrderInput({ ...form, every_hours: '' }, 'adm', toUtc).input?.every_hours).toBeNull();
  });

  it('names a number or a time that is not one, sending nothing', () => {
    const bad = toOrderInput({ ...emptyOrderForm('nursing'), every_hours: '4.5', end: 'tomorrow' }, 'adm', toUtc);
    expect(bad.input).toBeNull();
    expect(Object.keys(bad.problems).sort()).toEqual(['end_at', 'every_hours']);
    const ok = toOrderInput({ ...emptyOrderForm('diet'), instructions: 'Soft', start: '2026-12-06T09:30' }, 'adm', toUtc);
    expect(ok.input?.start_at).toBe('2026-12-06T09:30:00Z');
  });

  it('starts a change from the order as written', () => {
    const form = orderFormOf(order('a', { schedule: 'every', every_hours: 8, times_pattern: '' }));
    expect(form).toMatchObject({ kind: 'medicine', medicine_id: 'med', schedule: 'every', every_hours: '8', start: '' });
  });
});

describe('how late', () => {
  it('says minutes ahead, on time, minutes late and hours late', () => {
    expect(lateWords(-20)).toBe('in 20 minutes');
    expect(lateWords(-1)).toBe('in 1 minute');
    expect(lateWords(0)).toBe('on time');
    expect(lateWords(1)).toBe('1 minute late');
    expect(lateWords(59)).toBe('59 minutes late');
    expect(lateWords(60)).toBe('1 h 0 min late');
    expect(lateWords(125)).toBe('2 h 5 min late');
  });
});

describe('shifts', () => {
  it('takes the shift of the clinic’s hour', () => {
    // The core's shifts: 07:00, 15:00 and 23:00 (SHIFT_START_HOURS).
    expect([0, 6, 7, 14, 15, 22, 23].map(shiftAt)).toEqual(['night', 'night', 'morning', 'morning', 'evening', 'evening', 'night']);
    setFormats({ locale: 'en-IN', hour_cycle: 'h12', time_zone: 'Asia/Kolkata' });
    expect(clinicHour(new Date('2026-12-06T20:00:00Z'))).toBe(1);
    expect(clinicHour(new Date('2026-12-06T10:00:00Z'))).toBe(15);
  });
});
