// The start screen: waiting for the backend's store to open, and the bar of the one-time
// encryption of a database from before encryption at rest (the core's EncryptProgress: pages
// of the encrypted copy written, then the check).

import type { AppError, EncryptProgress, StartStatus } from './bindings';
import { formatNumber, t } from './i18n';

type Answer = { status: 'ok'; data: StartStatus } | { status: 'error'; error: AppError };
/** A start that is over: the store open, or the start failed. */
export type Started = Extract<StartStatus, { state: 'ready' } | { state: 'failed' }>;

/**
 * Waits for the backend's start. `ask` calls `start_status`, handing it `onStatus` for the
 * changes that follow (a Channel); every `encrypting` status goes to `onEncrypting`.
 * Resolves with the first `ready` or `failed`, whether it came as the answer or on the
 * channel (they may arrive in either order: what comes after is ignored).
 */
export function waitForStart(
  ask: (onStatus: (s: StartStatus) => void) => Promise<Answer>,
  onEncrypting: (progress: EncryptProgress | null) => void,
): Promise<Started> {
  return new Promise((resolve) => {
    let settled = false;
    const onStatus = (s: StartStatus) => {
      if (settled) return;
      if (s.state === 'ready' || s.state === 'failed') {
        settled = true;
        resolve(s);
      } else if (s.state === 'encrypting') {
        onEncrypting(s.progress ?? null);
      }
    };
    ask(onStatus).then(
      (r) => onStatus(r.status === 'ok' ? r.data : { state: 'failed', error: r.error }),
      // No answer at all (the IPC bridge failed): go on, and app_status says what it can.
      () => onStatus({ state: 'ready', encrypted: null }),
    );
  });
}

/** 0 to 100; the check counts as done copying. */
export function encryptPercent(p: EncryptProgress | null): number {
  if (!p || p.pages_total <= 0) return 0;
  if (p.stage === 'checking') return 100;
  return Math.min(100, Math.floor((p.pages_done / p.pages_total) * 100));
}

/** What the bar stands for, in words. */
export function encryptLabel(p: EncryptProgress | null): string {
  if (!p) return t('app.encryptingStarting');
  if (p.stage === 'checking') return t('app.encryptingChecking');
  return t('app.encryptingCopying', { done: formatNumber(p.pages_done), total: formatNumber(p.pages_total) });
}

/** The sign-in screen's note after a start that encrypted a database from before, or null. */
export function encryptedNotice(started: Started): string | null {
  if (started.state !== 'ready' || !started.encrypted) return null;
  return t('app.encryptedNotice');
}
