import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PatientHit } from './bindings';
import type { Outcome } from './app.svelte';
import { PatientLookup, type PatientSearch } from './patientLookup.svelte';
import { SEARCH_DEBOUNCE_MS, arrowTarget } from './patients';

function hit(id: string): PatientHit {
  return {
    id,
    mrn: `HMS1-${id}`,
    name: `Patient ${id}`,
    sex: 'female',
    birth_date: null,
    birth_date_estimated: false,
    age_years: 40,
    phone: null,
    last_visit_at: null,
    status: 'active',
    matched: 'name',
  };
}

/** A search whose answers the test hands out, in any order. */
function manual() {
  const pending: { query: string; resolve: (r: Outcome<PatientHit[]>) => void }[] = [];
  const search: PatientSearch = (query) => new Promise((resolve) => pending.push({ query, resolve }));
  return { search, pending };
}

const ok = (data: PatientHit[]): Outcome<PatientHit[]> => ({ status: 'ok', data });

describe('PatientLookup', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('searches once typing pauses, for the trimmed query', async () => {
    let box = '';
    const { search, pending } = manual();
    const lookup = new PatientLookup(() => box, search);
    box = 'me';
    lookup.schedule();
    box = 'meena ';
    lookup.schedule();
    vi.advanceTimersByTime(SEARCH_DEBOUNCE_MS - 1);
    expect(pending).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(pending.map((p) => p.query)).toEqual(['meena']);
    expect(lookup.loading).toBe(true);
    pending[0]!.resolve(ok([hit('1')]));
    await vi.runAllTimersAsync();
    expect(lookup.loading).toBe(false);
    expect(lookup.searched).toBe('meena');
    expect(lookup.hits.map((h) => h.id)).toEqual(['1']);
  });

  it('keeps only the latest answer when answers arrive out of order', async () => {
    let box = 'a';
    const { search, pending } = manual();
    const lookup = new PatientLookup(() => box, search);
    const first = lookup.run();
    box = 'ab';
    const second = lookup.run();
    pending[1]!.resolve(ok([hit('new')]));
    await second;
    pending[0]!.resolve(ok([hit('old')]));
    await first;
    expect(lookup.searched).toBe('ab');
    expect(lookup.hits.map((h) => h.id)).toEqual(['new']);
  });

  it('clears results and error when the box is emptied, and drops a waiting search', async () => {
    let box = 'x';
    const search = vi.fn<PatientSearch>(async () => ({
      status: 'error',
      error: { code: 'internal', detail: { message: 'down' } },
      handled: false,
    }));
    const lookup = new PatientLookup(() => box, search);
    await lookup.run();
    expect(lookup.error).toMatch(/down|search/i);
    lookup.schedule();
    box = '';
    await lookup.run();
    expect(lookup.error).toBeNull();
    expect(lookup.hits).toEqual([]);
    expect(lookup.searched).toBe('');
    await vi.runAllTimersAsync();
    expect(search).toHaveBeenCalledTimes(1);
  });

  it('leaves the error alone when the app already acted on the failure', async () => {
    const lookup = new PatientLookup(
      () => 'x',
      async () => ({ status: 'error', error: { code: 'session_locked' }, handled: true }),
    );
    await lookup.run();
    expect(lookup.error).toBeNull();
    expect(lookup.loading).toBe(false);
  });

  it('current() searches first only when the results are not for the box', async () => {
    const box = 'iyer';
    const search = vi.fn<PatientSearch>(async () => ok([hit('1')]));
    const lookup = new PatientLookup(() => box, search);
    expect((await lookup.current()).map((h) => h.id)).toEqual(['1']);
    await lookup.current();
    expect(search).toHaveBeenCalledTimes(1);
  });

  it('dispose() drops a search still waiting', async () => {
    const search = vi.fn<PatientSearch>(async () => ok([]));
    const lookup = new PatientLookup(() => 'x', search);
    lookup.schedule();
    lookup.dispose();
    await vi.runAllTimersAsync();
    expect(search).not.toHaveBeenCalled();
  });
});

describe('arrowTarget', () => {
  const rows = ['a', 'b', 'c'];

  it('moves down and up the rows, from the first row back to the box', () => {
    expect(arrowTarget('ArrowDown', rows, 0, 'box')).toBe('b');
    expect(arrowTarget('ArrowDown', rows, 2, 'box')).toBe('c');
    expect(arrowTarget('ArrowUp', rows, 2, 'box')).toBe('b');
    expect(arrowTarget('ArrowUp', rows, 0, 'box')).toBe('box');
  });

  it('goes to the first and last row with Home and End only when asked', () => {
    expect(arrowTarget('Home', rows, 2, 'box', true)).toBe('a');
    expect(arrowTarget('End', rows, 0, 'box', true)).toBe('c');
    expect(arrowTarget('Home', rows, 2, 'box')).toBeUndefined();
    expect(arrowTarget('End', rows, 0, 'box')).toBeUndefined();
  });

  it('lets other keys through, and finds nothing in an empty list', () => {
    expect(arrowTarget('Enter', rows, 0, 'box')).toBeUndefined();
    expect(arrowTarget('ArrowDown', [], 0, 'box')).toBeUndefined();
    expect(arrowTarget('End', [], 0, 'box', true)).toBeUndefined();
  });
});
