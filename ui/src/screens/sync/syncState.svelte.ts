// The UI's copy of the sync status, shared by the header's indicator and the Sync screen:
// polled every few seconds while the shell is unlocked, and right after a sync or an
// enrolment this screen started.

import { Channel } from '@tauri-apps/api/core';
import { call, type Failure, type Result } from '../../lib/app.svelte';
import { errorMessage } from '../../lib/errors';
import {
  POLL_MS,
  StatusPoller,
  indicatorState,
  syncApi,
  type EnrolForm,
  type Enrolment,
  type IndicatorState,
  type SyncProgress,
  type SyncReport,
  type SyncStatus,
} from '../../lib/sync';

export type Done<T> = { status: 'ok'; data: T } | Failure;

class SyncState {
  status = $state<SyncStatus | null>(null);
  /** Why the last status poll failed (the last good status stays on screen). */
  statusError = $state<string | null>(null);
  /** A sync or an enrolment started here is under way. */
  busy = $state<'sync' | 'enrol' | 'connect' | null>(null);
  progress = $state<SyncProgress | null>(null);
  lastReport = $state<SyncReport | null>(null);

  private readonly poller = new StatusPoller({ poll: () => this.load(), intervalMs: POLL_MS });

  get indicator(): IndicatorState {
    return indicatorState(this.status, this.busy !== null);
  }

  /** Starts polling (the shell is shown and unlocked). */
  start(): void {
    this.poller.start();
  }

  /** Stops polling (locked, or signed out). */
  stop(): void {
    this.poller.stop();
  }

  /** Polls now. */
  refresh(): Promise<void> {
    return this.poller.active ? this.poller.refresh() : this.load();
  }

  private async load(): Promise<void> {
    const r = await call(() => syncApi.status());
    if (r.status === 'ok') {
      this.status = r.data;
      this.statusError = null;
    } else if (!r.handled) {
      this.statusError = errorMessage(r.error);
    }
  }

  /** Pushes and pulls now, with progress; the status is polled again after. Null while busy. */
  syncNow(): Promise<Done<SyncReport> | null> {
    return this.withProgress('sync', (channel) => syncApi.syncNow(channel));
  }

  /** Enrols this device and makes its first full pull, with progress. Null while busy. */
  enrol(form: EnrolForm): Promise<Done<Enrolment> | null> {
    return this.withProgress('enrol', (channel) => syncApi.enrol(form, channel));
  }

  /** "Connect again" after the server revoked this device, then a sync. Null while busy. */
  connectAgain(code: string): Promise<Done<Enrolment> | null> {
    return this.withProgress('connect', (channel) => syncApi.connectAgain(code, channel));
  }

  private async withProgress<T>(
    what: 'sync' | 'enrol' | 'connect',
    run: (channel: Channel<SyncProgress>) => Promise<Result<T>>,
  ): Promise<Done<T> | null> {
    if (this.busy) return null;
    this.busy = what;
    this.progress = null;
    const channel = new Channel<SyncProgress>();
    channel.onmessage = (p) => {
      this.progress = p;
    };
    const r = await call(() => run(channel));
    this.busy = null;
    this.progress = null;
    if (r.status === 'ok' && what === 'sync') this.lastReport = r.data as SyncReport;
    await this.refresh();
    return r;
  }
}

export const syncState = new SyncState();
