import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SYNC_MAX_OPEN_CONFLICTS_PER_DEVICE, SYNC_MAX_ORPHANS, SYNC_ORPHAN_MAX_AGE_DAYS, type AppError } from './bindings';
import { errorMessage } from './errors';
import {
  StatusPoller,
  clockWarning,
  conflictRows,
  conflictsNotKeptWarning,
  connectAgainProblem,
  diffRows,
  displayValue,
  enrolProblems,
  entityName,
  fieldLabel,
  formatSince,
  indicatorState,
  indicatorView,
  looksLikeServerUrl,
  minutesToTime,
  orphansText,
  parseJson,
  progressPercent,
  progressText,
  resolutionLabel,
  resolutionsFor,
  sideHeadings,
  type ConflictSide,
  type StatusLike,
  type SyncConflict,
} from './sync';

function status(patch: Partial<StatusLike> = {}): StatusLike {
  return { enrolled: true, pending: 0, last_success: null, last_error: null, open_conflicts: 0, ...patch };
}

/** 22 Nov 2026, 14:05 local time. */
const NOW = new Date(2026, 10, 22, 14, 30);
const AT_1405 = new Date(2026, 10, 22, 14, 5).toISOString();
const YESTERDAY_0910 = new Date(2026, 10, 21, 9, 10).toISOString();

describe('the indicator state', () => {
  it('says not connected when the device is not enrolled, whatever else the status says', () => {
    expect(indicatorState(null)).toEqual({ kind: 'not_enrolled' });
    expect(indicatorState(status({ enrolled: false, pending: 12, last_error: 'x', syncing: true }))).toEqual({
      kind: 'not_enrolled',
    });
  });

  it('puts syncing first, then offline, then an error, then waiting changes, then synced', () => {
    const all = status({ syncing: true, offline_since: AT_1405, last_error: 'refused', pending: 3 });
    expect(indicatorState(all).kind).toBe('syncing');
    expect(indicatorState({ ...all, syncing: false }).kind).toBe('offline');
    expect(indicatorState({ ...all, syncing: false, offline_since: null })).toEqual({ kind: 'error', reason: 'refused' });
    expect(indicatorState(status({ pending: 3, last_error: '  ' }))).toEqual({ kind: 'pending', count: 3 });
    expect(indicatorState(status())).toEqual({ kind: 'synced' });
  });

  it("follows core's state when the status has one", () => {
    const base = status({ state: 'synced', pending: 5, last_error: 'old', offline_since: AT_1405 });
    expect(indicatorState(base)).toEqual({ kind: 'synced' });
    expect(indicatorState({ ...base, state: 'pending' })).toEqual({ kind: 'pending', count: 5 });
    expect(indicatorState({ ...base, state: 'offline' })).toEqual({ kind: 'offline', since: AT_1405 });
    expect(indicatorState({ ...base, state: 'error' })).toEqual({ kind: 'error', reason: 'old' });
    expect(indicatorState({ ...base, state: 'not_enrolled' })).toEqual({ kind: 'not_enrolled' });
    expect(indicatorState({ ...base, state: 'pending', syncing: true }).kind).toBe('syncing');
  });

  it('is syncing while a sync or an enrolment started on this screen runs', () => {
    expect(indicatorState(status({ pending: 2 }), true).kind).toBe('syncing');
    expect(indicatorState(status({ enrolled: false }), true).kind).toBe('syncing');
    expect(indicatorState(null, true).kind).toBe('syncing');
  });
});

describe('the indicator words and colours', () => {
  it('words each state with a colour', () => {
    expect(indicatorView({ kind: 'synced' }, NOW)).toMatchObject({ label: 'Synced', tone: 'success' });
    expect(indicatorView({ kind: 'pending', count: 1 }, NOW)).toMatchObject({ label: 'Pending 1 change', tone: 'info' });
    expect(indicatorView({ kind: 'pending', count: 1204 }, NOW).label).toBe('Pending 1,204 changes');
    expect(indicatorView({ kind: 'syncing' }, NOW)).toMatchObject({ label: 'Syncing…', tone: 'info' });
    expect(indicatorView({ kind: 'not_enrolled' }, NOW)).toMatchObject({ label: 'Not connected to a server', tone: 'neutral' });
    expect(indicatorView({ kind: 'error', reason: 'cannot reach the sync server' }, NOW)).toMatchObject({
      label: 'Sync error: cannot reach the sync server',
      tone: 'danger',
    });
    expect(indicatorView({ kind: 'error', reason: '' }, NOW).label).toBe('Sync error');
  });

  it('says since when it has been offline, with the day only when it is not today', () => {
    expect(indicatorView({ kind: 'offline', since: AT_1405 }, NOW)).toMatchObject({
      label: 'Offline since 14:05',
      tone: 'warning',
    });
    expect(indicatorView({ kind: 'offline', since: YESTERDAY_0910 }, NOW).label).toBe('Offline since Nov 21, 09:10');
    expect(indicatorView({ kind: 'offline', since: null }, NOW).label).toBe('Offline');
  });

  it('gives a whole sentence for screen readers', () => {
    expect(indicatorView({ kind: 'synced' }, NOW).description).toBe('Sync status: Synced.');
  });
});

describe('the clock warning', () => {
  const at = '2026-12-05T03:00:00.000Z';
  it('says nothing when the clock is right or not compared yet', () => {
    expect(clockWarning(null)).toBeNull();
    expect(clockWarning(undefined)).toBeNull();
    expect(clockWarning({ verdict: 'right', ahead_ms: 1_000, limit_ms: 300_000, checked_at: at })).toBeNull();
  });
  it('says how far ahead or behind, and the limit, from the core verdict', () => {
    const ahead = clockWarning({ verdict: 'ahead', ahead_ms: 12 * 60_000, limit_ms: 300_000, checked_at: at });
    expect(ahead).toContain('12 min ahead');
    expect(ahead).toContain('at most 5 min');
    const behind = clockWarning({ verdict: 'behind', ahead_ms: -90 * 60_000, limit_ms: 300_000, checked_at: at });
    expect(behind).toContain('90 min behind');
    // Only the server's refusal: no measured difference.
    expect(clockWarning({ verdict: 'ahead', ahead_ms: null, limit_ms: 600_000, checked_at: at })).toContain(
      'more than 10 min',
    );
  });
});

describe('what a pull keeps aside', () => {
  it('says nothing while every conflict was kept', () => {
    expect(conflictsNotKeptWarning(null)).toBeNull();
    expect(conflictsNotKeptWarning({ conflicts_not_kept: 0 })).toBeNull();
    expect(conflictsNotKeptWarning({ conflicts_not_kept: null as unknown as number })).toBeNull();
  });
  it('counts the conflicts left out and names the cap from core', () => {
    const text = conflictsNotKeptWarning({ conflicts_not_kept: 1234 });
    expect(text).toContain('1,234 more were not kept');
    expect(text).toContain(`at most ${SYNC_MAX_OPEN_CONFLICTS_PER_DEVICE.toLocaleString('en')}`);
  });
  it('shows the orphans against their bound', () => {
    expect(orphansText(12)).toBe(
      `12 (at most ${SYNC_MAX_ORPHANS.toLocaleString('en')}, each kept ${SYNC_ORPHAN_MAX_AGE_DAYS} days)`,
    );
  });
});

describe('connect again', () => {
  it('asks for the code made for this computer', () => {
    expect(connectAgainProblem('  ')).toContain('code the administrator made');
    expect(connectAgainProblem(' 7K2M-9QXD ')).toBeNull();
  });
});

describe('formatSince', () => {
  it('is HH:MM in 24 hours for today, in local time', () => {
    expect(formatSince(AT_1405, NOW)).toBe('14:05');
    expect(formatSince(new Date(2026, 10, 22, 0, 7).toISOString(), NOW)).toBe('00:07');
  });

  it('reads a hybrid-logical-clock stamp', () => {
    const ms = new Date(2026, 10, 22, 8, 45).getTime();
    expect(formatSince(`${String(ms).padStart(16, '0')}-000003-dev1`, NOW)).toBe('08:45');
  });

  it('is empty for nothing or for text that is not a time', () => {
    expect(formatSince(null, NOW)).toBe('');
    expect(formatSince('', NOW)).toBe('');
    expect(formatSince('yesterday', NOW)).toBe('');
  });
});

describe('progress', () => {
  it('is a whole percentage of the fraction core reports, never above 100 or below 0', () => {
    expect(progressPercent({ fraction: 0 })).toBe(0);
    expect(progressPercent({ fraction: 1 / 3 })).toBe(33);
    expect(progressPercent({ fraction: 0.999 })).toBe(99);
    expect(progressPercent({ fraction: 1 })).toBe(100);
    expect(progressPercent({ fraction: 1.2 })).toBe(100);
    expect(progressPercent({ fraction: -0.1 })).toBe(0);
  });

  it('is null (an indeterminate bar) while core does not know how far it is', () => {
    expect(progressPercent(null)).toBeNull();
    expect(progressPercent({ fraction: null })).toBeNull();
    expect(progressPercent({ fraction: Number.NaN })).toBeNull();
  });

  it('says which half runs and how many changes so far', () => {
    expect(progressText(null, 'Connecting…')).toEqual({ phase: 'Connecting…', count: '' });
    expect(progressText({ phase: 'push', changes: 1, fraction: null, pages: 1 }, '')).toEqual({
      phase: "Sending this computer's changes",
      count: '1 change',
    });
    expect(progressText({ phase: 'pull', changes: 1200, fraction: 0.285, pages: 2 }, '')).toEqual({
      phase: 'Receiving changes from the other devices',
      count: '1,200 changes · 28%',
    });
  });
});

describe('diffRows', () => {
  const current = {
    id: 'p1',
    mrn: 'K7Q2-000123',
    given_name: 'Ravi',
    family_name: 'Sharma',
    phone: '98450 12345',
    notes: null,
    updated_at: '0001795373796353-000000-devA',
  };
  const other = {
    id: 'p1',
    mrn: 'K7Q2-000123',
    given_name: 'Ravi',
    family_name: 'Sarma',
    phone: '98450 12345',
    updated_at: '0001795373790000-000001-devB',
    email: 'ravi@example.in',
  };

  it('lists every field of either version, the current order first, bookkeeping last', () => {
    expect(diffRows(current, other).map((r) => r.field)).toEqual([
      'mrn',
      'given_name',
      'family_name',
      'phone',
      'notes',
      'email',
      'id',
      'updated_at',
    ]);
  });

  it('marks the fields that differ, a missing field being the same as null', () => {
    const rows = Object.fromEntries(diffRows(current, other).map((r) => [r.field, r]));
    expect(rows.family_name).toMatchObject({ current: 'Sharma', other: 'Sarma', differs: true, meta: false });
    expect(rows.given_name?.differs).toBe(false);
    expect(rows.notes).toMatchObject({ current: '', other: '', differs: false });
    expect(rows.email).toMatchObject({ current: '', other: 'ravi@example.in', differs: true });
    expect(rows.updated_at).toMatchObject({ differs: true, meta: true });
    expect(diffRows(current, other).filter((r) => r.differs && !r.meta).map((r) => r.field)).toEqual(['family_name', 'email']);
  });

  it('reads JSON text and compares nested values whatever their key order', () => {
    const a = JSON.stringify({ phones: ['1', '2'], address: { city: 'Pune', pin: '411001' } });
    const b = { phones: ['1', '2'], address: { pin: '411001', city: 'Pune' } };
    expect(diffRows(a, b).every((r) => !r.differs)).toBe(true);
    expect(diffRows(a, { ...b, phones: ['2', '1'] }).find((r) => r.field === 'phones')?.differs).toBe(true);
    expect(diffRows('not json', null)).toEqual([]);
  });

  it('shows numbers, flags and times of day as people read them', () => {
    const rows = diffRows({ start_min: 570, overbooked: 0, amount_minor: 125000 }, { start_min: 600, overbooked: 1 });
    expect(rows.map((r) => [r.label, r.current, r.other])).toEqual([
      ['Starts', '09:30', '10:00'],
      ['Overbooked', '0', '1'],
      ['Amount minor', '125000', ''],
    ]);
    expect(displayValue(true)).toBe('true');
    expect(displayValue({ a: 1 })).toBe('{"a":1}');
  });

  it('labels fields from the dictionary, or from the column name', () => {
    expect(fieldLabel('mrn')).toBe('MRN');
    expect(fieldLabel('family_name')).toBe('Family name');
    expect(entityName('patients')).toBe('Patient');
    expect(entityName('wards')).toBe('Wards');
  });
});

function side(patch: Partial<ConflictSide> = {}): ConflictSide {
  return { label: '', record_id: null, value: 'null', stamp: '', device_id: 'devB', ...patch };
}

function conflict(patch: Partial<SyncConflict> = {}): SyncConflict {
  return {
    id: 'c1',
    kind: 'field',
    entity: 'patients',
    entity_id: 'p1',
    field: 'phone',
    label: 'Ravi Sharma (K7Q2-000123)',
    current: side({ label: '98450 12345', value: '"98450 12345"' }),
    other: side({ label: '98450 99999', value: '"98450 99999"' }),
    detected_at: '2026-11-22T10:00:00Z',
    resolved: false,
    resolution: null,
    resolved_at: null,
    resolved_by: null,
    ...patch,
  };
}

describe('a conflict side by side', () => {
  it('shows a field conflict as its one field, the value in force beside the one that lost', () => {
    expect(conflictRows(conflict())).toEqual([
      { field: 'phone', label: 'Phone', current: '98450 12345', other: '98450 99999', differs: true, meta: false },
    ]);
    const cleared = conflictRows(conflict({ field: 'email', current: side({ value: 'null' }), other: side({ value: '"a@b.in"' }) }));
    expect(cleared[0]).toMatchObject({ current: '', other: 'a@b.in', differs: true });
  });

  it('shows the two records of a rule conflict', () => {
    const keeper = { id: 'a1', doctor_id: 'd1', date: '2026-11-23', start_min: 615, patient_id: 'p1' };
    const held = { ...keeper, id: 'a2', patient_id: 'p9' };
    const rows = conflictRows(
      conflict({
        kind: 'slot_double_booked',
        field: null,
        current: side({ value: JSON.stringify(keeper), record_id: 'a1' }),
        other: side({ value: JSON.stringify(held), record_id: 'a2' }),
      }),
    );
    expect(rows.filter((r) => r.differs).map((r) => r.field)).toEqual(['patient_id', 'id']);
    expect(rows.find((r) => r.field === 'start_min')).toMatchObject({ label: 'Starts', current: '10:15' });
  });

  it('shows only the refused change of a refused conflict', () => {
    const rows = conflictRows(
      conflict({ kind: 'refused', field: null, current: side({ value: '{"refused":"x"}' }), other: side({ value: '{"name":"Ward 3"}' }) }),
    );
    expect(rows).toEqual([{ field: 'name', label: 'Name', current: '', other: 'Ward 3', differs: true, meta: false }]);
  });

  it('heads the columns by kind', () => {
    expect(sideHeadings('field')).toEqual({ current: 'In use now', other: 'Set aside' });
    expect(sideHeadings('slot_double_booked')).toEqual({ current: 'Keeps the slot', other: 'Held off the slot' });
    expect(sideHeadings('mrn_duplicate')).toEqual({ current: 'Keeps the MRN', other: 'Given a stand-in number' });
    expect(sideHeadings('bed_needed')).toEqual({ current: 'Keeps the bed', other: 'Needs a bed' });
    expect(sideHeadings('dose_twice')).toEqual({ current: 'The record that counts', other: 'Recorded again' });
  });

  it('reads JSON text, and keeps text that is not JSON', () => {
    expect(parseJson('{"a":1}')).toEqual({ a: 1 });
    expect(parseJson('"x"')).toBe('x');
    expect(parseJson('not json')).toBe('not json');
    expect(parseJson('')).toBeNull();
  });

  it('turns minutes after midnight into a time of day', () => {
    expect(minutesToTime(0)).toBe('00:00');
    expect(minutesToTime(1439)).toBe('23:59');
    expect(minutesToTime(1440)).toBe('');
    expect(minutesToTime('600')).toBe('');
  });

  it('offers the resolutions core allows for each kind', () => {
    const actions = (k: SyncConflict['kind']) => resolutionsFor(k).map((c) => c.action);
    expect(actions('field')).toEqual(['keep_current', 'take_other']);
    expect(actions('slot_double_booked')).toEqual(['move_appointment', 'cancel_appointment']);
    expect(resolutionsFor('slot_double_booked').map((c) => c.asks)).toEqual(['move', 'cancel']);
    expect(actions('mrn_duplicate')).toEqual(['renumber', 'dismiss']);
    expect(actions('refused')).toEqual(['dismiss']);
    // Doses are reviewed with a note of what was found; a bed is given on the board, not here.
    expect(actions('dose_twice')).toEqual(['review']);
    expect(actions('prn_over_limit')).toEqual(['review']);
    expect(actions('dose_after_stop')).toEqual(['review']);
    expect(sideHeadings('dose_after_stop')).toEqual({ current: 'The stopped order', other: 'The dose given after it' });
    expect(resolutionsFor('dose_twice').map((c) => c.asks)).toEqual(['note']);
    expect(actions('bed_needed')).toEqual([]);
    expect(actions('order_changed_twice')).toEqual([]);
    expect(sideHeadings('order_changed_twice')).toEqual({ current: 'First change', other: 'Second change' });
    expect(actions('stock_below_zero')).toEqual([]);
    expect(sideHeadings('stock_below_zero')).toEqual({ current: 'Balance now', other: 'Last taken out' });
    for (const kind of ['field', 'slot_double_booked', 'mrn_duplicate', 'refused', 'dose_twice', 'prn_over_limit', 'dose_after_stop'] as const) {
      for (const choice of resolutionsFor(kind)) {
        expect(choice.label).not.toMatch(/^sync\./);
        expect(choice.hint).not.toMatch(/^sync\./);
      }
    }
  });

  it('words how a conflict was resolved', () => {
    expect(resolutionLabel('take_other')).toBe('Took the set-aside version');
    expect(resolutionLabel('auto')).toBe('Resolved by a later change');
    expect(resolutionLabel('bed_given')).toBe('The patient was given a bed');
    expect(resolutionLabel('review')).toBe('Reviewed');
    expect(resolutionLabel('something_new')).toBe('something_new');
    expect(resolutionLabel(null)).toBe('');
  });
});

describe('the enrolment form', () => {
  it('takes an http(s) address with a host', () => {
    expect(looksLikeServerUrl('https://hms.example-clinic.in')).toBe(true);
    expect(looksLikeServerUrl('http://10.0.0.5:8443/')).toBe(true);
    expect(looksLikeServerUrl('hms.example-clinic.in')).toBe(false);
    expect(looksLikeServerUrl('ftp://hms.example')).toBe(false);
    expect(looksLikeServerUrl('https://')).toBe(false);
    expect(looksLikeServerUrl('https://user@hms.example')).toBe(false);
    expect(looksLikeServerUrl('https://hms example')).toBe(false);
  });

  it('says what is missing, field by field', () => {
    expect(enrolProblems({ server_url: '', code: ' ', device_name: '' })).toEqual({
      server_url: 'Enter the server address.',
      code: 'Enter the enrolment code.',
      device_name: 'Enter a name for this computer.',
    });
    expect(Object.keys(enrolProblems({ server_url: 'hms.local', code: 'ABCD', device_name: 'Ward 3' }))).toEqual([
      'server_url',
    ]);
    expect(enrolProblems({ server_url: 'https://hms.local', code: 'ABCD-1234', device_name: 'Reception PC' })).toEqual({});
  });
});

describe('sync errors', () => {
  it('word each failure core reports', () => {
    const fallback = errorMessage({ code: 'sync', detail: { failure: 'something_new', message: '' } } as unknown as AppError);
    expect(fallback).toMatch(/refused/);
    for (const failure of ['not_enrolled', 'offline', 'unauthorized', 'revoked', 'protocol']) {
      const text = errorMessage({ code: 'sync', detail: { failure, message: 'x' } } as unknown as AppError);
      expect(text, failure).not.toBe(fallback);
      expect(text, failure).not.toMatch(/^errors\./);
    }
  });

  it('word an address core cannot use next to the address field', () => {
    const e = { code: 'validation', detail: { field: 'server_url', reason: 'invalid', message: 'x' } } as AppError;
    expect(errorMessage(e)).toMatch(/https:\/\//);
  });
});

describe('StatusPoller', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('polls at once, then every interval, until stopped', async () => {
    let polls = 0;
    const poller = new StatusPoller({ poll: async () => void (polls += 1), intervalMs: 5_000 });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(polls).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(polls).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(polls).toBe(4);
    poller.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(polls).toBe(4);
    expect(poller.active).toBe(false);
  });

  it('polls once more right after a poll that a refresh interrupted, and never two at once', async () => {
    let running = 0;
    let most = 0;
    let polls = 0;
    const poller = new StatusPoller({
      intervalMs: 5_000,
      poll: async () => {
        running += 1;
        most = Math.max(most, running);
        polls += 1;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        running -= 1;
      },
    });
    poller.start();
    await vi.advanceTimersByTimeAsync(100);
    void poller.refresh();
    void poller.refresh();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(polls).toBe(2);
    expect(most).toBe(1);
    // The second poll ended at 2 s: the interval starts again from there.
    await vi.advanceTimersByTimeAsync(4_800);
    expect(polls).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(polls).toBe(3);
    poller.stop();
  });

  it('does nothing when refreshed while stopped', async () => {
    let polls = 0;
    const poller = new StatusPoller({ poll: async () => void (polls += 1), intervalMs: 5_000 });
    await poller.refresh();
    expect(polls).toBe(0);
  });
});
