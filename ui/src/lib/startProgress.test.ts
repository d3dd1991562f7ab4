import { describe, expect, it } from 'vitest';
import type { EncryptProgress, StartStatus } from './bindings';
import { encryptLabel, encryptPercent, encryptedNotice, waitForStart } from './startProgress';

const copying = (done: number): EncryptProgress => ({ stage: 'copying', pages_done: done, pages_total: 400 });
const checking: EncryptProgress = { stage: 'checking', pages_done: 400, pages_total: 400 };

/** A start_status whose channel messages are sent by the test, and whose answer it sets. */
function backend() {
  let send: (s: StartStatus) => void = () => {};
  let answer: (s: StartStatus) => void = () => {};
  const ask = (onStatus: (s: StartStatus) => void) => {
    send = onStatus;
    return new Promise<{ status: 'ok'; data: StartStatus }>((resolve) => {
      answer = (s) => resolve({ status: 'ok', data: s });
    });
  };
  return { ask, send: (s: StartStatus) => send(s), answer: (s: StartStatus) => answer(s) };
}

describe('waiting for the start', () => {
  it('shows each encryption report, then goes on when the store is ready', async () => {
    const b = backend();
    const seen: (EncryptProgress | null)[] = [];
    const started = waitForStart(b.ask, (p) => seen.push(p));
    b.answer({ state: 'encrypting', progress: null });
    await Promise.resolve();
    b.send({ state: 'encrypting', progress: copying(0) });
    b.send({ state: 'encrypting', progress: copying(250) });
    b.send({ state: 'encrypting', progress: checking });
    b.send({ state: 'ready', encrypted: checking });
    b.send({ state: 'encrypting', progress: copying(1) });
    expect(await started).toEqual({ state: 'ready', encrypted: checking });
    expect(seen).toEqual([null, copying(0), copying(250), checking]);
  });

  it('goes on at once when the store is already open, with nothing to show', async () => {
    const b = backend();
    const seen: (EncryptProgress | null)[] = [];
    const started = waitForStart(b.ask, (p) => seen.push(p));
    b.answer({ state: 'ready', encrypted: null });
    expect(await started).toEqual({ state: 'ready', encrypted: null });
    expect(seen).toEqual([]);
  });

  it('takes the end from the channel even when the answer comes after it', async () => {
    const b = backend();
    const seen: (EncryptProgress | null)[] = [];
    const started = waitForStart(b.ask, (p) => seen.push(p));
    b.send({ state: 'ready', encrypted: checking });
    b.answer({ state: 'opening' });
    expect(await started).toEqual({ state: 'ready', encrypted: checking });
    expect(seen).toEqual([]);
  });

  it('ends in a typed error when the start failed', async () => {
    const b = backend();
    const started = waitForStart(b.ask, () => {});
    b.answer({ state: 'opening' });
    await Promise.resolve();
    b.send({ state: 'failed', error: { code: 'storage_full', detail: { what: 'the encrypted copy' } } });
    expect(await started).toEqual({ state: 'failed', error: { code: 'storage_full', detail: { what: 'the encrypted copy' } } });
  });

  it('ends in the command\'s own typed error', async () => {
    const started = waitForStart(
      async () => ({ status: 'error', error: { code: 'keystore_unavailable', detail: { reason: 'locked' } } }),
      () => {},
    );
    expect(await started).toEqual({ state: 'failed', error: { code: 'keystore_unavailable', detail: { reason: 'locked' } } });
  });

  it('goes on when the IPC bridge gives no answer at all (app_status then says what it can)', async () => {
    const started = waitForStart(() => Promise.reject(new Error('no bridge')), () => {});
    expect(await started).toEqual({ state: 'ready', encrypted: null });
  });
});

describe('the start screen encryption bar', () => {
  it('goes from 0 to 100 with the pages copied, and is full while checking', () => {
    expect(encryptPercent(null)).toBe(0);
    expect(encryptPercent(copying(0))).toBe(0);
    expect(encryptPercent(copying(100))).toBe(25);
    expect(encryptPercent(copying(400))).toBe(100);
    expect(encryptPercent(checking)).toBe(100);
    expect(encryptPercent({ stage: 'copying', pages_done: 3, pages_total: 0 })).toBe(0);
  });

  it('says what it is doing in words', () => {
    expect(encryptLabel(null)).toMatch(/ready/i);
    const words = encryptLabel({ stage: 'copying', pages_done: 1200, pages_total: 5000 });
    expect(words).toContain('of');
    expect(words).toMatch(/1,?200/);
    expect(words).not.toContain('{');
    expect(encryptLabel(checking)).toMatch(/checking/i);
  });

  it('tells the sign-in screen once the records from before are encrypted, and only then', () => {
    expect(encryptedNotice({ state: 'ready', encrypted: checking })).toMatch(/encrypted/);
    expect(encryptedNotice({ state: 'ready', encrypted: null })).toBeNull();
    expect(encryptedNotice({ state: 'failed', error: { code: 'not_signed_in' } })).toBeNull();
  });
});
