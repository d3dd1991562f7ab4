import { describe, expect, it } from 'vitest';
import type { Appointment, AppointmentView, DoctorSession, StaffMember } from './bindings';
import type { Area } from './bindings';
import { en } from './locales/en';
import { visibleAreas } from './roles';
import { setFormats } from './i18n';
import {
  addDays,
  affectedByLeave,
  bookProblems,
  dayActions,
  dayList,
  dayLoadText,
  doctorOptions,
  emptyBookForm,
  emptyExceptionForm,
  emptyStaffForm,
  exceptionProblems,
  feeText,
  fieldBase,
  formatClock,
  formatDayShort,
  formatFee,
  groupSlots,
  hhmmToMinutes,
  isoWeekday,
  longWait,
  minutesToHhmm,
  newRow,
  ownProfile,
  parseDay,
  parseFee,
  periodOf,
  queueCounts,
  queueState,
  repeatRow,
  rowOfField,
  rowsFromSessions,
  scopedErrors,
  scopedMessage,
  sessionProblems,
  sessionsOn,
  slotCount,
  staffFormFrom,
  staffProblems,
  statusKind,
  statusLabel,
  STATUSES,
  takenStarts,
  toBookInput,
  toExceptionInput,
  toSessionInputs,
  toStaffInput,
  today,
  waitingText,
  weekDates,
  weekStart,
  weekdayName,
  
  type SessionRow,
} from './appointments';

/** Wednesday 4 March 2026, 10:30 local time. */
const NOW = new Date(2026, 2, 4, 10, 30);

function appt(patch: Partial<Appointment> = {}): Appointment {
  return {
    id: 'a1',
    patient_id: 'p1',
    doctor_id: 'd1',
    date: '2026-03-04',
    start: '09:00',
    end: '09:15',
    starts_at: new Date(2026, 2, 4, 9, 0).toISOString(),
    ends_at: new Date(2026, 2, 4, 9, 15).toISOString(),
    status: 'booked',
    overbooked: false,
    walk_in: false,
    token: null,
    reason: '',
    cancel_reason: '',
    rescheduled_from: null,
    ...patch,
  };
}

function view(patch: Partial<Appointment> = {}, name = 'Ravi Sharma'): AppointmentView {
  return { appointment: appt(patch), patient_name: name, mrn: 'K7Q2-000123', phone: '9845012345', doctor_name: 'Dr Asha Menon' };
}

function row(weekday: string, start: string, end: string, slot = '15'): SessionRow {
  return { key: Math.random(), weekday, start, end, slot };
}

function doctor(patch: Partial<StaffMember> = {}): StaffMember {
  return {
    id: 'd1',
    full_name: 'Asha Menon',
    role: 'doctor',
    user_id: null,
    department_id: null,
    qualifications: 'MBBS, MD',
    licence_no: 'KMC-1234',
    specialty_ids: ['s1'],
    phone: '',
    email: '',
    fee_minor: 50000,
    active: true,
    ...patch,
  };
}

describe('navigation', () => {
  it('offers appointments and staff after patients, when the backend sends them', () => {
    const areas = ['settings', 'staff', 'appointments', 'patients'] as Area[];
    expect(visibleAreas(areas).map((a) => a.area)).toEqual(['patients', 'appointments', 'staff', 'settings']);
    expect(visibleAreas(['patients', 'users']).map((a) => a.area)).toEqual(['patients', 'users']);
  });
});

describe('calendar days', () => {
  it('reads only real dates', () => {
    expect(parseDay('2026-03-04')?.getDate()).toBe(4);
    expect(parseDay('2026-02-30')).toBeNull();
    expect(parseDay('4/3/2026')).toBeNull();
    expect(parseDay('')).toBeNull();
  });

  it('adds days across month and year ends', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('not a day', 1)).toBe('not a day');
  });

  it('gives ISO weekdays, Monday 1 to Sunday 7', () => {
    expect(isoWeekday('2026-03-02')).toBe(1);
    expect(isoWeekday('2026-03-04')).toBe(3);
    expect(isoWeekday('2026-03-08')).toBe(7);
    expect(isoWeekday('x')).toBe(0);
  });

  it('makes the week of a day, Monday to Sunday', () => {
    expect(weekStart('2026-03-04')).toBe('2026-03-02');
    expect(weekStart('2026-03-08')).toBe('2026-03-02');
    expect(weekStart('2026-03-02')).toBe('2026-03-02');
    expect(weekDates('2026-03-01')).toEqual([
      '2026-02-23',
      '2026-02-24',
      '2026-02-25',
      '2026-02-26',
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
    ]);
    // Across the end of the year.
    expect(weekDates('2026-12-31')[6]).toBe('2027-01-03');
  });

  it('takes today from the local clock', () => {
    expect(today(NOW)).toBe('2026-03-04');
  });

  it('takes today in the clinic\'s time zone once it is known, not this computer\'s', () => {
    try {
      // 20:00 UTC on 4 March is already 5 March in Kolkata, still 4 March in New York.
      setFormats({ locale: 'en-IN', hour_cycle: 'h24', time_zone: 'Asia/Kolkata' });
      expect(today(new Date('2026-03-04T20:00:00Z'))).toBe('2026-03-05');
      setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: 'America/New_York' });
      expect(today(new Date('2026-03-04T20:00:00Z'))).toBe('2026-03-04');
    } finally {
      setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: null });
    }
  });

  it('names weekdays and days in the locale', () => {
    expect(weekdayName(1)).toBe('Monday');
    expect(weekdayName(7, 'short')).toBe('Sun');
    expect(formatDayShort('2026-03-04')).toMatch(/Wed/);
    expect(formatDayShort('2026-03-04')).toMatch(/4/);
  });
});

describe('times of day', () => {
  it('turns minutes into HH:MM and back', () => {
    expect(minutesToHhmm(0)).toBe('00:00');
    expect(minutesToHhmm(555)).toBe('09:15');
    expect(minutesToHhmm(1440)).toBe('24:00');
    expect(hhmmToMinutes('09:15')).toBe(555);
    expect(hhmmToMinutes('9:05')).toBe(545);
    expect(hhmmToMinutes('24:00')).toBe(1440);
    expect(hhmmToMinutes('24:30')).toBeNull();
    expect(hhmmToMinutes('12:60')).toBeNull();
    expect(hhmmToMinutes('0900')).toBeNull();
    expect(hhmmToMinutes('')).toBeNull();
  });

  it('shows a clinic time by the clinic\'s hour cycle: 24-hour unless it chose 12-hour', () => {
    // ICU puts a narrow no-break space before AM/PM in newer versions.
    const plain = (s: string) => s.replace(/\s/g, ' ');
    try {
      setFormats({ locale: 'en-IN', hour_cycle: 'h24', time_zone: 'Asia/Kolkata' });
      expect(formatClock('09:15')).toBe('09:15');
      expect(formatClock('17:00')).toBe('17:00');
      setFormats({ locale: 'en-US', hour_cycle: 'h12', time_zone: 'America/New_York' });
      // A slot's time is the clinic's wall clock: no zone moves it.
      expect(plain(formatClock('09:15'))).toBe('09:15 AM');
      expect(plain(formatClock('17:00'))).toBe('05:00 PM');
      expect(formatClock('soon')).toBe('soon');
    } finally {
      setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: null });
    }
  });

  it('groups slots into morning, afternoon and evening, in time order', () => {
    const slots = [17 * 60, 9 * 60, 12 * 60, 11 * 60 + 45, 16 * 60 + 59].map((m) => ({ start_min: m }));
    const groups = groupSlots(slots);
    expect(groups.map((g) => g.period)).toEqual(['morning', 'afternoon', 'evening']);
    expect(groups[0]!.slots.map((s) => s.start_min)).toEqual([540, 705]);
    expect(groups[1]!.slots.map((s) => s.start_min)).toEqual([720, 1019]);
    expect(groups[2]!.slots.map((s) => s.start_min)).toEqual([1020]);
    expect(groupSlots([{ start_min: 600 }]).map((g) => g.period)).toEqual(['morning']);
    expect(groupSlots([])).toEqual([]);
    expect(periodOf(11 * 60 + 59)).toBe('morning');
  });

  it('words waiting times', () => {
    expect(waitingText(null)).toBe('');
    expect(waitingText(0)).toBe('just arrived');
    expect(waitingText(1)).toBe('waiting 1 min');
    expect(waitingText(12)).toBe('waiting 12 min');
    expect(waitingText(65)).toBe('waiting 1 h 05 min');
    expect(longWait(29)).toBe(false);
    expect(longWait(30)).toBe(true);
    expect(longWait(null)).toBe(false);
  });
});

describe('statuses and the queue', () => {
  it('has a label for every status', () => {
    for (const s of STATUSES) expect(statusLabel(s)).not.toBe(s);
    expect(statusLabel('checked_in')).toBe('Waiting');
    expect(statusKind('with_doctor')).toBe('success');
    expect(statusKind('no_show')).toBe('danger');
  });

  it('places statuses in the queue and counts them', () => {
    expect(queueState('checked_in')).toBe('waiting');
    expect(queueState('booked')).toBe('expected');
    expect(queueState('cancelled')).toBe('other');
    const counts = queueCounts([{ status: 'checked_in' }, { status: 'checked_in' }, { status: 'with_doctor' }, { status: 'done' }]);
    expect(counts).toEqual({ waiting: 2, with_doctor: 1, done: 1, expected: 0, other: 0 });
  });

  it('offers check-in today, no-show once the time has come, nothing without booking permission', () => {
    const future = appt({ starts_at: new Date(2026, 2, 4, 11, 0).toISOString() });
    expect(dayActions(future, { canBook: true, now: NOW })).toEqual({ checkIn: true, reschedule: true, cancel: true, noShow: false });
    expect(dayActions(appt(), { canBook: true, now: NOW }).noShow).toBe(true);
    expect(dayActions(appt({ date: '2026-03-05' }), { canBook: true, now: NOW }).checkIn).toBe(false);
    expect(dayActions(appt({ status: 'checked_in' }), { canBook: true, now: NOW })).toEqual({
      checkIn: false,
      reschedule: false,
      cancel: false,
      noShow: false,
    });
    expect(dayActions(appt(), { canBook: false, now: NOW }).cancel).toBe(false);
  });

  it('lists a day by time, hiding cancelled ones unless asked', () => {
    const items = [
      view({ id: 'b', starts_at: '2026-03-04T05:00:00Z' }),
      view({ id: 'a', starts_at: '2026-03-04T04:00:00Z', status: 'cancelled' }),
      view({ id: 'c', starts_at: '2026-03-04T03:00:00Z' }),
    ];
    expect(dayList(items, false).map((v) => v.appointment.id)).toEqual(['c', 'b']);
    expect(dayList(items, true).map((v) => v.appointment.id)).toEqual(['c', 'a', 'b']);
  });

  it('finds the starts already held, for overbooking', () => {
    const at = (h: number, m: number) => new Date(2026, 2, 4, h, m).toISOString();
    const items = [
      view({ start: '11:30', starts_at: at(11, 30) }),
      view({ start: '11:00', starts_at: at(11, 0) }),
      view({ start: '11:00', starts_at: at(11, 0), id: 'x' }),
      view({ start: '12:00', starts_at: at(12, 0), status: 'cancelled' }),
      view({ start: '12:15', starts_at: at(12, 15), walk_in: true, status: 'checked_in' }),
      view({ start: '09:00', starts_at: at(9, 0) }),
    ];
    expect(takenStarts(items, { includePast: false, now: NOW })).toEqual(['11:00', '11:30']);
    // Back-entry may overbook a slot that has begun.
    expect(takenStarts(items, { includePast: true, now: NOW })).toEqual(['09:00', '11:00', '11:30']);
  });

  it('says how full a day is', () => {
    expect(dayLoadText({ free_slots: 3, slots: 16, count: 13 })).toBe('3 of 16 slots free');
    expect(dayLoadText({ free_slots: 0, slots: 0, count: 0 })).toBe('No sessions');
    expect(dayLoadText({ free_slots: null, slots: null, count: 1 })).toBe('1 appointment');
  });
});

describe('booking', () => {
  const form = { ...emptyBookForm('2026-03-04'), patient_id: 'p1', doctor_id: 'd1', start: '11:00', reason: ' fever ' };

  it('accepts a complete booking and builds the input', () => {
    expect(bookProblems(form, { canBackdate: false, now: NOW })).toEqual({});
    expect(toBookInput(form)).toEqual({
      patient_id: 'p1',
      doctor_id: 'd1',
      date: '2026-03-04',
      start: '11:00',
      reason: 'fever',
      overbook: false,
    });
  });

  it('asks for the patient, the doctor and a slot', () => {
    const p = bookProblems(emptyBookForm('2026-03-04'), { canBackdate: false, now: NOW });
    expect(Object.keys(p).sort()).toEqual(['doctor_id', 'patient_id']);
    expect(p.patient_id).toBe(en['validation.appt.patient_id.required']);
    expect(bookProblems({ ...form, start: '' }, { canBackdate: false, now: NOW }).start).toBe(en['validation.appt.start.required']);
  });

  it('refuses a past date without back-entry permission, on the date field', () => {
    const past = { ...form, date: '2026-03-03' };
    expect(bookProblems(past, { canBackdate: false, now: NOW }).date).toBe(en['validation.appt.date.out_of_range']);
    expect(bookProblems(past, { canBackdate: true, now: NOW })).toEqual({});
    expect(bookProblems({ ...form, date: '2026-02-30' }, { canBackdate: true, now: NOW }).date).toBe(
      en['validation.appt.date.invalid'],
    );
  });

  it('limits the reason to 200 characters', () => {
    expect(bookProblems({ ...form, reason: 'x'.repeat(201) }, { canBackdate: false, now: NOW }).reason).toBe(
      en['validation.appt.reason.too_long'],
    );
  });
});

describe('errors by form', () => {
  it('words a row field like every other row', () => {
    expect(fieldBase('sessions.3.start')).toBe('sessions.start');
    expect(fieldBase('phones.2')).toBe('phones');
    expect(fieldBase('name')).toBe('name');
    expect(rowOfField('sessions.12.slot_minutes')).toBe(12);
    expect(rowOfField('start')).toBeNull();
  });

  it('prefers the form’s own wording, then the app-wide one', () => {
    expect(scopedMessage('sched', 'sessions.2.start', 'invalid')).toBe(en['validation.sched.sessions.start.invalid']);
    expect(scopedMessage('staff', 'user_id', 'taken')).toBe(en['validation.staff.user_id.taken']);
    // No staff wording for a required phone: the generic message.
    expect(scopedMessage('staff', 'email', 'required')).toBe(en['validation.required']);
  });

  it('splits an error between a field the form shows and the form', () => {
    const e = { code: 'validation', detail: { field: 'sessions.1.end', reason: 'invalid', message: '' } } as const;
    expect(scopedErrors('sched', e, (f) => rowOfField(f) !== null)).toEqual({
      fields: { 'sessions.1.end': en['validation.sched.sessions.end.invalid'] },
      form: null,
    });
    expect(scopedErrors('sched', e, () => false).form).toBe(en['validation.sched.sessions.end.invalid']);
    expect(scopedErrors('appt', { code: 'forbidden', detail: { permission: 'appointments_book' } }, () => true)).toEqual({
      fields: {},
      form: en['errors.forbidden'],
    });
  });
});

describe('weekly sessions', () => {
  it('accepts Mon–Sat mornings and evenings', () => {
    const rows = [row('1', '09:00', '13:00'), row('1', '17:00', '20:00'), row('6', '9:00', '13:00', '20')];
    expect(sessionProblems(rows)).toEqual({});
    expect(toSessionInputs(rows)).toEqual([
      { weekday: 1, start: '09:00', end: '13:00', slot_minutes: 15 },
      { weekday: 1, start: '17:00', end: '20:00', slot_minutes: 15 },
      { weekday: 6, start: '09:00', end: '13:00', slot_minutes: 20 },
    ]);
  });

  it('reports the end before the start on the end of that row', () => {
    const p = sessionProblems([row('1', '09:00', '13:00'), row('2', '13:00', '09:00')]);
    expect(p).toEqual({ 'sessions.1.end': en['validation.sched.sessions.end.invalid'] });
  });

  it('reports overlapping sessions of one weekday on the later row’s start', () => {
    const p = sessionProblems([row('1', '09:00', '13:00'), row('2', '09:00', '13:00'), row('1', '12:00', '14:00')]);
    expect(p).toEqual({ 'sessions.2.start': en['validation.sched.sessions.start.invalid'] });
    // Touching is not overlapping.
    expect(sessionProblems([row('1', '09:00', '13:00'), row('1', '13:00', '14:00')])).toEqual({});
  });

  it('checks slot lengths: 5 to 240 minutes, and not longer than the session', () => {
    expect(sessionProblems([row('1', '09:00', '13:00', '0')])['sessions.0.slot_minutes']).toBe(
      en['validation.sched.sessions.slot_minutes.out_of_range'],
    );
    expect(sessionProblems([row('1', '09:00', '09:10', '15')])['sessions.0.slot_minutes']).toBe(
      en['validation.sched.sessions.slot_minutes.out_of_range'],
    );
    expect(sessionProblems([row('1', '09:00', '13:00', '-5')])['sessions.0.slot_minutes']).toBe(
      en['validation.sched.sessions.slot_minutes.invalid'],
    );
    expect(sessionProblems([row('1', '09:00', '13:00', '')])['sessions.0.slot_minutes']).toBe(
      en['validation.sched.sessions.slot_minutes.required'],
    );
  });

  it('asks for readable times', () => {
    const p = sessionProblems([row('1', 'nine', '')]);
    expect(p['sessions.0.start']).toBe(en['sched.badTime']);
    expect(p['sessions.0.end']).toBe(en['validation.sched.sessions.end.required']);
  });

  it('reads saved sessions into rows by weekday and time', () => {
    const sessions: DoctorSession[] = [
      { id: 's2', weekday: 2, start: '09:00', end: '13:00', slot_minutes: 15 },
      { id: 's1', weekday: 1, start: '17:00', end: '20:00', slot_minutes: 10 },
      { id: 's0', weekday: 1, start: '09:00', end: '13:00', slot_minutes: 15 },
    ];
    const rows = rowsFromSessions(sessions);
    expect(rows.map((r) => [r.weekday, r.start, r.slot])).toEqual([
      ['1', '09:00', '15'],
      ['1', '17:00', '10'],
      ['2', '09:00', '15'],
    ]);
    expect(new Set(rows.map((r) => r.key)).size).toBe(3);
    expect(sessionsOn(sessions, '2026-03-02').map((s) => s.id)).toEqual(['s0', 's1']);
    expect(sessionsOn(sessions, '2026-03-08')).toEqual([]);
  });

  it('adds a row on the next weekday with the same times', () => {
    expect(newRow([])).toMatchObject({ weekday: '1', start: '09:00', end: '13:00', slot: '15' });
    expect(newRow([row('3', '17:00', '20:00', '10')])).toMatchObject({ weekday: '4', start: '17:00', end: '20:00', slot: '10' });
    expect(newRow([row('7', '09:00', '12:00')]).weekday).toBe('1');
  });

  it('repeats a session Monday to Saturday where it does not overlap', () => {
    const rows = repeatRow([row('1', '09:00', '13:00'), row('3', '10:00', '11:00')], 0);
    expect(rows.map((r) => `${r.weekday} ${r.start}`)).toEqual(['1 09:00', '2 09:00', '3 10:00', '4 09:00', '5 09:00', '6 09:00']);
    expect(sessionProblems(rows)).toEqual({});
  });

  it('counts the slots of a session', () => {
    expect(slotCount({ start: '09:00', end: '13:00', slot: '15' })).toBe(16);
    expect(slotCount({ start: '09:00', end: '09:50', slot: '15' })).toBe(3);
    expect(slotCount({ start: '13:00', end: '09:00', slot: '15' })).toBe(0);
  });
});

describe('exceptions', () => {
  it('sends a whole-day leave without times', () => {
    const form = { ...emptyExceptionForm('2026-03-10'), reason: 'conference' };
    expect(exceptionProblems(form)).toEqual({});
    expect(toExceptionInput(form)).toEqual({
      date: '2026-03-10',
      kind: 'leave',
      session_id: null,
      start: null,
      end: null,
      slot_minutes: null,
      reason: 'conference',
    });
  });

  it('needs times for part-day leave and extra sessions', () => {
    const leave = { ...emptyExceptionForm('2026-03-10'), whole_day: false };
    expect(Object.keys(exceptionProblems(leave)).sort()).toEqual(['end', 'start']);
    const extra = { ...emptyExceptionForm('2026-03-10'), kind: 'extra' as const, start: '14:00', end: '13:00' };
    expect(exceptionProblems(extra)).toEqual({ end: en['validation.exc.end.invalid'] });
    const ok = { ...extra, end: '16:00', slot: '20' };
    expect(toExceptionInput(ok)).toMatchObject({ kind: 'extra', start: '14:00', end: '16:00', slot_minutes: 20, session_id: null });
  });

  it('needs the session and a reason to cancel a session', () => {
    const form = { ...emptyExceptionForm('2026-03-10'), kind: 'cancelled' as const };
    expect(Object.keys(exceptionProblems(form)).sort()).toEqual(['reason', 'session_id']);
    const ok = { ...form, session_id: 's1', reason: 'surgery', start: '09:00' };
    expect(exceptionProblems(ok)).toEqual({});
    expect(toExceptionInput(ok)).toMatchObject({ session_id: 's1', start: null, end: null });
  });

  it('finds the booked patients a leave touches', () => {
    const items = [
      view({ id: 'a', start: '09:00' }),
      view({ id: 'b', start: '12:45' }),
      view({ id: 'c', start: '17:00' }),
      view({ id: 'd', start: '10:00', status: 'cancelled' }),
      view({ id: 'e', start: '10:00', walk_in: true }),
    ];
    expect(affectedByLeave(items, { whole_day: true, start: '', end: '' }).map((v) => v.appointment.id)).toEqual(['a', 'b', 'c']);
    expect(affectedByLeave(items, { whole_day: false, start: '09:00', end: '13:00' }).map((v) => v.appointment.id)).toEqual([
      'a',
      'b',
    ]);
  });
});

describe('staff profiles', () => {
  it('reads fees in major units into minor units', () => {
    expect(parseFee('')).toBeNull();
    expect(parseFee('500')).toBe(50000);
    expect(parseFee('1,500.5')).toBe(150050);
    expect(parseFee('450.05')).toBe(45005);
    expect(parseFee('4.505')).toBeNaN();
    expect(parseFee('abc')).toBeNaN();
    expect(feeText(150050)).toBe('1500.50');
    expect(feeText(50000)).toBe('500');
    expect(feeText(0)).toBe('');
    expect(formatFee(150050)).toBe('1,500.50');
  });

  it('checks and builds a profile', () => {
    const form = { ...emptyStaffForm(), full_name: '  Asha  Menon ', fee: '500', specialty_ids: ['s1'] };
    expect(staffProblems(form)).toEqual({});
    expect(toStaffInput(form)).toMatchObject({ full_name: 'Asha  Menon', role: 'doctor', fee_minor: 50000, user_id: null, department_id: null });
    expect(toStaffInput({ ...form, fee: '' }).fee_minor).toBe(0);
    expect(staffProblems({ ...form, full_name: ' ' }).full_name).toBe(en['validation.staff.full_name.required']);
    expect(staffProblems({ ...form, fee: 'five' }).fee_minor).toBe(en['validation.staff.fee_minor.invalid']);
    expect(staffProblems({ ...form, fee: '2000000' }).fee_minor).toBe(en['validation.staff.fee_minor.out_of_range']);
  });

  it('edits a profile as it was', () => {
    const f = staffFormFrom(doctor({ user_id: 'u1', department_id: 'dep1' }));
    expect(f).toMatchObject({ full_name: 'Asha Menon', user_id: 'u1', department_id: 'dep1', fee: '500', specialty_ids: ['s1'] });
    expect(toStaffInput(f)).toMatchObject({ user_id: 'u1', department_id: 'dep1', fee_minor: 50000 });
  });

  it('finds the signed-in doctor’s own profile', () => {
    const list = [doctor({ id: 'd1', user_id: 'u9' }), doctor({ id: 'd2', user_id: 'u1' })];
    expect(ownProfile(list, 'u1')?.id).toBe('d2');
    expect(ownProfile(list, 'u5')).toBeUndefined();
  });

  it('labels doctors with their specialties', () => {
    const options = doctorOptions([doctor(), doctor({ id: 'd2', full_name: 'Ravi Rao', specialty_ids: [] })], [{ id: 's1', name: 'Cardiology' }], 'Choose');
    expect(options).toEqual([
      { value: '', label: 'Choose' },
      { value: 'd1', label: 'Asha Menon (Cardiology)' },
      { value: 'd2', label: 'Ravi Rao' },
    ]);
  });
});
