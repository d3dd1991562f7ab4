// The application's state: which top-level screen shows, and the signed-in session.
// Sessions live in the Rust backend; this is only the UI's copy of what it was told.

import { Channel } from '@tauri-apps/api/core';
import {
  commands,
  type AppError,
  type DemoAccount,
  type EncryptProgress,
  type SessionInfo,
  type StartStatus,
} from './bindings';
import { errorMessage } from './errors';
import { setFormats } from './i18n';
import { encryptedNotice, waitForStart } from './startProgress';
import { toasts } from './toast.svelte';

export type Result<T> = { status: 'ok'; data: T } | { status: 'error'; error: AppError };
/** A failed call; `handled` when the app already acted on it (lock overlay, back to sign-in). */
export type Failure = { status: 'error'; error: AppError; handled: boolean };
export type Outcome<T> = { status: 'ok'; data: T } | Failure;

export type Phase = 'loading' | 'encrypting' | 'failed' | 'setup' | 'signin' | 'shell' | 'restarting';

class AppState {
  phase = $state<Phase>('loading');
  session = $state<SessionInfo | null>(null);
  /** Why startup failed (phase 'failed'). */
  startError = $state<AppError | null>(null);
  /** The one-time encryption of a database from before (phase 'encrypting'). */
  encryption = $state<EncryptProgress | null>(null);
  /** A message for the sign-in screen (why the session ended). */
  notice = $state<string | null>(null);
  version = $state('');
  deviceId = $state('');
  /** The demo hospital's accounts when this database holds it (the sign-in screen's hint). */
  demoAccounts = $state<DemoAccount[]>([]);

  get locked(): boolean {
    return this.session?.locked ?? false;
  }

  /**
   * Startup: waits for the backend's store to open (the bar of a one-time encryption
   * meanwhile), then asks where we are and shows the matching screen. `again`: the start
   * screen's Try again, which starts a failed opening again.
   */
  async start(again = false): Promise<void> {
    this.phase = 'loading';
    this.startError = null;
    const started = await waitForStart(
      (onStatus) => {
        const channel = new Channel<StartStatus>();
        channel.onmessage = onStatus;
        return commands.startStatus(channel, again);
      },
      (progress) => {
        this.encryption = progress;
        this.phase = 'encrypting';
      },
    );
    if (started.state === 'failed') {
      this.startError = started.error;
      this.phase = 'failed';
      return;
    }
    // Said once on the sign-in screen: the records from before are encrypted now.
    this.notice = encryptedNotice(started) ?? this.notice;
    const r = await call(() => commands.appStatus());
    if (r.status === 'error') {
      this.startError = r.error;
      this.phase = 'failed';
      return;
    }
    const status = r.data;
    this.version = status.version;
    this.deviceId = status.device_id;
    this.demoAccounts = status.demo_accounts;
    const session = status.session ?? null;
    await this.loadFormats();
    if (status.needs_setup) {
      this.session = null;
      this.phase = 'setup';
    } else if (session) {
      // A locked session comes back as the shell under the lock overlay.
      await this.enterShell(session);
    } else {
      this.session = null;
      this.phase = 'signin';
    }
  }

  async enterShell(session: SessionInfo): Promise<void> {
    // The clinic's locale, zone and hour cycle before the first screen shows a date.
    if (this.phase !== 'shell') await this.loadFormats();
    this.session = session;
    this.notice = null;
    this.phase = 'shell';
  }

  /**
   * Dates, times, numbers and money as the clinic writes them (the core's answer: the
   * clinic's settings when signed in, the defaults before). On failure the last ones stay.
   */
  async loadFormats(): Promise<void> {
    try {
      const r = await commands.clinicFormats();
      if (r.status === 'ok') setFormats(r.data);
    } catch {
      // the IPC bridge failed: keep the formats in use
    }
  }

  /** A newer copy of the session (heartbeat, unlock): roles, areas or the idle time may change. */
  updateSession(session: SessionInfo): void {
    if (this.phase !== 'shell') return;
    this.session = session;
  }

  /** Shows the lock overlay (the shell stays mounted beneath it). */
  markLocked(): void {
    if (this.session && !this.session.locked) this.session = { ...this.session, locked: true };
  }

  /** Back to the sign-in screen, with an optional explanation. */
  endSession(notice: string | null = null): void {
    // Nothing of the last person's work stays on screen, toasts included.
    toasts.clear();
    this.session = null;
    this.notice = notice;
    this.phase = 'signin';
    void this.loadFormats();
  }

  /**
   * A restore was accepted: the backend signed out, closed the store and starts again in a
   * moment. The whole window says so; being a phase of its own, no screen's poll meeting the
   * closed session can send it back to sign-in before the app closes.
   */
  restarting(): void {
    toasts.clear();
    this.session = null;
    this.notice = null;
    this.phase = 'restarting';
  }

  goToSignIn(): void {
    this.endSession(null);
  }

  /** Locks now (the Lock button or the idle timer): the overlay first, then the backend. */
  async lock(): Promise<void> {
    if (!this.session || this.session.locked) return;
    this.markLocked();
    // Errors that end the session are acted on by call(); others leave the overlay up, and
    // unlocking with the password works whether or not the backend recorded the lock.
    await call(() => commands.lockSession());
  }

  /** Signs out; returns an error message if the backend could not do it. */
  async signOut(): Promise<string | null> {
    const r = await call(() => commands.signOut());
    if (r.status === 'ok' || r.handled) {
      if (this.phase === 'shell') this.endSession(null);
      return null;
    }
    return errorMessage(r.error);
  }
}

export const app = new AppState();

function internal(e: unknown): AppError {
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', detail: { message } };
}

/**
 * Runs one backend command. Never throws: an exception (the IPC bridge failing) becomes an
 * `internal` error. While signed in, errors that lock or end the session are acted on here:
 * `session_locked` shows the lock overlay; `session_expired`, `not_signed_in` and
 * `account_inactive` return to sign-in. Those come back with `handled: true`.
 */
export async function call<T>(command: () => Promise<Result<T>>): Promise<Outcome<T>> {
  let r: Result<T>;
  try {
    r = await command();
  } catch (e) {
    console.error('HMS: command failed', e);
    r = { status: 'error', error: internal(e) };
  }
  if (r.status === 'ok') return r;
  const error = r.error;
  if (error.code === 'internal') {
    // The details are for support, not for the screen.
    console.error('HMS:', error.code, error.detail.message);
  } else if (error.code === 'storage' || error.code === 'corrupt_record') {
    // What failed is in the device's log (logs/hms.log), under the reference or the record.
    console.error('HMS:', error.code, error.detail);
  }
  let handled = false;
  if (app.phase === 'shell') {
    switch (error.code) {
      case 'session_locked':
        app.markLocked();
        handled = true;
        break;
      case 'session_expired':
      case 'not_signed_in':
      case 'account_inactive':
        app.endSession(errorMessage(error));
        handled = true;
        break;
      case 'password_change_required':
        // A temporary password: the shell shows Change password, which nothing else passes.
        if (app.session) app.session = { ...app.session, must_change_password: true };
        handled = true;
        break;
      default:
        break;
    }
  }
  return { status: 'error', error, handled };
}
