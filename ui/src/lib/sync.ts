// Sync as the UI shows it: the header's status indicator, the progress of an enrolment or a
// sync, and the conflicts inbox's side-by-side rows. Pure functions, tested in sync.test.ts;
// the calls are `syncApi` at the end; the screens (src/screens/sync/) hold the state.

import type { Channel } from '@tauri-apps/api/core';
import {
  SYNC_MAX_OPEN_CONFLICTS_PER_DEVICE,
  SYNC_MAX_ORPHANS,
  SYNC_ORPHAN_MAX_AGE_DAYS,
  commands,
  type ConflictKind,
  type ConflictResolution,
  type ConflictSide_Serialize,
  type Enrolment,
  type SyncConflict_Serialize,
  type SyncProgress_Deserialize,
  type SyncReport,
  type SyncStatus_Serialize,
} from './bindings';
import { clinicDay, dateTimeFormat, formatNumber, formatTime, hasMessage, parseInstant, t, type MessageKey } from './i18n';

// ------------------------------------------------------------------ what the backend sends
// core's `sync` types as the backend sends them (the generated `_Serialize` forms: every
// field present). Counts are `number | null` in the bindings (f64): null reads as 0.

export type SyncStatus = SyncStatus_Serialize;
export type SyncConflict = SyncConflict_Serialize;
export type ConflictSide = ConflictSide_Serialize;
/** After every batch sent and every page pulled (the channel's type in the bindings). */
export type SyncProgress = SyncProgress_Deserialize;
export type { ConflictKind, ConflictResolution, Enrolment, SyncReport };
export type ResolutionAction = ConflictResolution['action'];

// ------------------------------------------------------------------ the clock

/**
 * What the Sync screen says about this computer's clock, or null when it is right (or not
 * compared yet). The verdict is core's (`SyncStatus.clock`); this only words it.
 */
export function clockWarning(clock: SyncStatus['clock'] | undefined): string | null {
  if (!clock || clock.verdict === 'right') return null;
  const limit = Math.max(1, Math.round((clock.limit_ms ?? 0) / 60_000));
  const off = clock.ahead_ms == null ? null : Math.max(1, Math.round(Math.abs(clock.ahead_ms) / 60_000));
  if (clock.verdict === 'behind') return t('sync.clock.behind', { minutes: formatNumber(off ?? limit), limit });
  if (off === null) return t('sync.clock.aheadRefused', { limit });
  return t('sync.clock.ahead', { minutes: formatNumber(off), limit });
}

// ------------------------------------------------------------------ what a pull keeps aside

/**
 * What the Sync screen says when one device sent more unresolved conflicts than this computer
 * keeps from it (core's `SyncStatus.conflicts_not_kept`, the cap `SYNC_MAX_OPEN_CONFLICTS_PER_DEVICE`),
 * or null when none were left out.
 */
export function conflictsNotKeptWarning(status: Pick<SyncStatus, 'conflicts_not_kept'> | null | undefined): string | null {
  const count = status?.conflicts_not_kept ?? 0;
  if (count <= 0) return null;
  return t('sync.conflictsNotKept', {
    count: formatNumber(count),
    limit: formatNumber(SYNC_MAX_OPEN_CONFLICTS_PER_DEVICE),
  });
}

/** "1,204 (at most 20,000, each kept 90 days)": the orphans against their bound. */
export function orphansText(orphans: number | null | undefined): string {
  return t('sync.overview.orphansValue', {
    count: formatNumber(orphans ?? 0),
    limit: formatNumber(SYNC_MAX_ORPHANS),
    days: formatNumber(SYNC_ORPHAN_MAX_AGE_DAYS),
  });
}

// ------------------------------------------------------------------ the indicator

/** The fields of the status the indicator reads (older backends lack `state`, `syncing`…). */
export type StatusLike = Pick<SyncStatus, 'enrolled' | 'pending'> &
  Partial<Pick<SyncStatus, 'state' | 'syncing' | 'offline_since' | 'last_error' | 'last_success' | 'open_conflicts'>>;

/** What the header says about sync, most pressing first. */
export type IndicatorState =
  | { kind: 'not_enrolled' }
  | { kind: 'syncing' }
  | { kind: 'offline'; since: string | null }
  | { kind: 'error'; reason: string }
  | { kind: 'pending'; count: number }
  | { kind: 'synced' };

export type Tone = 'success' | 'info' | 'warning' | 'danger' | 'neutral';

/**
 * The indicator's state from a status. `busy` is a sync or an enrolment this screen started
 * and is waiting for. A running sync shows first; otherwise core's `state` decides (without
 * one: offline, then an error, then changes waiting, then synced).
 */
export function indicatorState(status: StatusLike | null, busy = false): IndicatorState {
  // An enrolment under way (its first pull) is syncing before the status says enrolled.
  if (busy) return { kind: 'syncing' };
  if (!status || !status.enrolled || status.state === 'not_enrolled') return { kind: 'not_enrolled' };
  if (status.syncing) return { kind: 'syncing' };
  const reason = status.last_error?.trim() ?? '';
  switch (status.state) {
    case 'offline':
      return { kind: 'offline', since: status.offline_since ?? null };
    case 'error':
      return { kind: 'error', reason };
    case 'pending':
      return { kind: 'pending', count: status.pending ?? 0 };
    case 'synced':
      return { kind: 'synced' };
    default:
      if (status.offline_since) return { kind: 'offline', since: status.offline_since };
      if (reason) return { kind: 'error', reason };
      if ((status.pending ?? 0) > 0) return { kind: 'pending', count: status.pending ?? 0 };
      return { kind: 'synced' };
  }
}

const TONES: Record<IndicatorState['kind'], Tone> = {
  not_enrolled: 'neutral',
  syncing: 'info',
  offline: 'warning',
  error: 'danger',
  pending: 'info',
  synced: 'success',
};

export interface IndicatorView {
  kind: IndicatorState['kind'];
  /** The short words on the header. */
  label: string;
  /** The colour (a badge kind). */
  tone: Tone;
  /** The whole sentence, for the tooltip and screen readers (the label may be cut short). */
  description: string;
}

/** The words and colour of an indicator state. `now` decides whether "since" needs a date. */
export function indicatorView(state: IndicatorState, now: Date = new Date()): IndicatorView {
  const tone = TONES[state.kind];
  switch (state.kind) {
    case 'not_enrolled':
      return view(state.kind, tone, t('sync.indicator.notEnrolled'));
    case 'syncing':
      return view(state.kind, tone, t('sync.indicator.syncing'));
    case 'offline': {
      const since = formatSince(state.since, now);
      return view(state.kind, tone, since ? t('sync.indicator.offlineSince', { time: since }) : t('sync.indicator.offline'));
    }
    case 'error':
      return view(
        state.kind,
        tone,
        state.reason ? t('sync.indicator.error', { reason: state.reason }) : t('sync.indicator.errorNoReason'),
      );
    case 'pending':
      return view(state.kind, tone, t('sync.indicator.pending', { count: state.count }));
    case 'synced':
      return view(state.kind, tone, t('sync.indicator.synced'));
  }
}

function view(kind: IndicatorState['kind'], tone: Tone, label: string): IndicatorView {
  return { kind, tone, label, description: t('sync.indicator.description', { state: label }) };
}

/**
 * "14:05" for an instant of the clinic's today (its zone and hour cycle), "21 Nov, 14:05" for
 * an earlier day; '' for none or for text that is not a time.
 */
export function formatSince(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parseInstant(iso);
  if (!date) return '';
  const time: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };
  const options: Intl.DateTimeFormatOptions = clinicDay(date) === clinicDay(now) ? time : { ...time, day: 'numeric', month: 'short' };
  try {
    return dateTimeFormat(options).format(date);
  } catch {
    return formatTime(date);
  }
}

// ------------------------------------------------------------------ progress

/** A whole percentage 0–100, or null while it is not known (an indeterminate bar). */
export function progressPercent(p: Pick<SyncProgress, 'fraction'> | null | undefined): number | null {
  const f = p?.fraction;
  if (f === null || f === undefined || !Number.isFinite(f)) return null;
  return Math.min(100, Math.max(0, Math.floor(f * 100)));
}

/** "Receiving changes from the other devices · 1,200 changes · 28%" in parts: what, how many. */
export function progressText(p: SyncProgress | null, fallback: string): { phase: string; count: string } {
  if (!p) return { phase: fallback, count: '' };
  const key = `sync.progress.phase.${p.phase}`;
  const phase = hasMessage(key) ? t(key) : fallback;
  const percent = progressPercent(p);
  const changes = t('sync.progress.changes', { count: p.changes ?? 0 });
  return { phase, count: percent === null ? changes : `${changes} · ${formatNumber(percent)}%` };
}

// ------------------------------------------------------------------ conflicts: side by side

/** One field of a conflict: this device's value beside the other device's. */
export interface DiffRow {
  field: string;
  /** The field as people read it ("Given name"). */
  label: string;
  current: string;
  other: string;
  differs: boolean;
  /** Bookkeeping columns (clock stamps, who wrote it): shown apart from the record's fields. */
  meta: boolean;
}

/** Columns that say when and where a row was written rather than what it holds. */
export const META_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'pk',
  'created_at',
  'updated_at',
  'updated_by',
  'origin_device',
  'deleted_at',
]);

/** A row as an object: JSON text is parsed; anything else that is not an object is empty. */
export function asRecord(value: unknown): Record<string, unknown> {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      return {};
    }
  }
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A value as text for the table: '' for none; objects and lists as JSON. */
export function displayValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** A field's value as text; minutes after midnight (`start_min`) as a time of day. */
function fieldValue(field: string, value: unknown): string {
  if (field.endsWith('_min') && typeof value === 'number') return minutesToTime(value) || String(value);
  return displayValue(value);
}

/** Whether two field values differ; a missing field and null are the same (no value). */
function differ(a: unknown, b: unknown): boolean {
  const none = (v: unknown) => v === null || v === undefined;
  if (none(a) && none(b)) return false;
  if (none(a) !== none(b)) return true;
  if (typeof a !== 'object' && typeof b !== 'object') return a !== b;
  return stableJson(a) !== stableJson(b);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `given_name` → "Given name", or the dictionary's word for it (`sync.field.given_name`). */
export function fieldLabel(field: string): string {
  const key = `sync.field.${field}`;
  if (hasMessage(key)) return t(key as MessageKey);
  const words = field.replace(/_/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : field;
}

/**
 * The rows of two versions of a record, side by side: every field of either, in the current
 * version's order then the other's new ones; bookkeeping fields last.
 */
export function diffRows(current: unknown, other: unknown): DiffRow[] {
  const a = asRecord(current);
  const b = asRecord(other);
  const fields = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
  const rows = fields.map((field) => ({
    field,
    label: fieldLabel(field),
    current: fieldValue(field, a[field]),
    other: fieldValue(field, b[field]),
    differs: differ(a[field], b[field]),
    meta: META_FIELDS.has(field),
  }));
  return [...rows.filter((r) => !r.meta), ...rows.filter((r) => r.meta)];
}

// ------------------------------------------------------------------ conflicts: what they are about

/** "14:30" from minutes after midnight (an appointment's `start_min`). */
export function minutesToTime(minutes: unknown): string {
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 0 || minutes >= 24 * 60) return '';
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** The kind of record a conflict is about, in words ("Patient", "Appointment", …). */
export function entityName(entity: string): string {
  const key = `sync.entity.${entity}`;
  return hasMessage(key) ? t(key) : fieldLabel(entity);
}

/** JSON text as a value; text that is not JSON stays text. */
export function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The rows of a conflict side by side: for a field conflict the one field (its value in force
 * beside the one that lost); for a rule conflict the two records; for a refused change its
 * fields (the current column is empty: nothing of it was applied).
 */
export function conflictRows(c: Pick<SyncConflict, 'kind' | 'field' | 'current' | 'other'>): DiffRow[] {
  if (c.kind === 'field') {
    const field = c.field ?? 'value';
    return diffRows({ [field]: parseJson(c.current.value) }, { [field]: parseJson(c.other.value) });
  }
  if (c.kind === 'refused') return diffRows({}, parseJson(c.other.value));
  return diffRows(parseJson(c.current.value), parseJson(c.other.value));
}

/** The headings of the two columns, by kind. */
export function sideHeadings(kind: ConflictKind): { current: string; other: string } {
  const keys: Record<ConflictKind, [MessageKey, MessageKey]> = {
    field: ['sync.conflicts.inUse', 'sync.conflicts.setAside'],
    slot_double_booked: ['sync.conflicts.keepsSlot', 'sync.conflicts.heldOff'],
    mrn_duplicate: ['sync.conflicts.keepsMrn', 'sync.conflicts.standIn'],
    refused: ['sync.conflicts.onThisDevice', 'sync.conflicts.refusedChange'],
    bed_needed: ['sync.conflicts.keepsBed', 'sync.conflicts.needsBed'],
    dose_twice: ['sync.conflicts.doseCounts', 'sync.conflicts.recordedAgain'],
    prn_over_limit: ['sync.conflicts.prnLimit', 'sync.conflicts.overLimit'],
    dose_after_stop: ['sync.conflicts.stoppedOrder', 'sync.conflicts.givenAfterStop'],
    order_changed_twice: ['sync.conflicts.firstChange', 'sync.conflicts.secondChange'],
    stock_below_zero: ['sync.conflicts.stockBalance', 'sync.conflicts.lastTaken'],
  };
  const [current, other] = keys[kind] ?? keys.field;
  return { current: t(current), other: t(other) };
}

// ------------------------------------------------------------------ polling

export interface PollerOptions {
  /** Fetches the status once; errors are the caller's to handle (it must not throw). */
  poll: () => Promise<void>;
  intervalMs: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** The indicator polls every few seconds. */
export const POLL_MS = 5_000;

/**
 * Calls `poll` every `intervalMs`, one call at a time: `refresh()` polls now (after a sync)
 * and starts the interval again; a refresh asked for while a poll runs happens right after it.
 */
export class StatusPoller {
  private readonly options: Required<PollerOptions>;
  private timer: unknown = undefined;
  private running = false;
  private again = false;
  private stopped = true;

  constructor(options: PollerOptions) {
    this.options = {
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  get active(): boolean {
    return !this.stopped;
  }

  /** Polls now, then every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.again = false;
    this.clear();
  }

  /** Polls now (or right after the poll under way). */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.clear();
    this.running = true;
    try {
      await this.options.poll();
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      await this.refresh();
      return;
    }
    this.timer = this.options.setTimer(() => void this.refresh(), this.options.intervalMs);
  }

  private clear(): void {
    if (this.timer !== undefined) this.options.clearTimer(this.timer);
    this.timer = undefined;
  }
}

// ------------------------------------------------------------------ enrolment form

export interface EnrolForm {
  server_url: string;
  code: string;
  device_name: string;
}

/**
 * The form's own checks before anything is sent (the backend checks again): each field's
 * problem, by field; empty when the form can go.
 */
export function enrolProblems(form: EnrolForm): Record<string, string> {
  const problems: Record<string, string> = {};
  const url = form.server_url.trim();
  if (!url) problems.server_url = t('sync.enrol.urlRequired');
  else if (!looksLikeServerUrl(url)) problems.server_url = t('sync.enrol.urlInvalid');
  if (!form.code.trim()) problems.code = t('sync.enrol.codeRequired');
  if (!form.device_name.trim()) problems.device_name = t('sync.enrol.deviceNameRequired');
  return problems;
}

/**
 * An address the backend takes: https:// (or http:// on a trusted network) and a host, no
 * spaces, query or user name. The backend's rule; checked here first so a typo shows at once.
 */
export function looksLikeServerUrl(text: string): boolean {
  const url = text.trim().replace(/\/+$/, '');
  const rest = /^https?:\/\//i.test(url) ? url.replace(/^https?:\/\//i, '') : null;
  if (!rest || /[\s?#@]/.test(rest)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

/** "Connect again" asks for the code the server's administrator made for this computer. */
export function connectAgainProblem(code: string): string | null {
  return code.trim() ? null : t('sync.connectAgain.codeRequired');
}

// ------------------------------------------------------------------ conflicts: the choices

export interface ResolutionChoice {
  action: ResolutionAction;
  label: string;
  /** A sentence on what the choice does. */
  hint: string;
  variant: 'primary' | 'secondary' | 'danger';
  /** Whether it asks for more first: which appointment and a reason, a new slot, or a note. */
  asks: 'nothing' | 'cancel' | 'move' | 'note';
}

/** The resolutions a conflict of this kind allows (core refuses the others), the usual one first. */
export function resolutionsFor(kind: ConflictKind): ResolutionChoice[] {
  const choice = (action: ResolutionAction, variant: ResolutionChoice['variant'], asks: ResolutionChoice['asks'] = 'nothing') => ({
    action,
    label: t(`sync.action.${action}`),
    hint: t(`sync.action.${action}.hint`),
    variant,
    asks,
  });
  switch (kind) {
    case 'field':
      return [choice('keep_current', 'primary'), choice('take_other', 'secondary')];
    case 'slot_double_booked':
      return [choice('move_appointment', 'primary', 'move'), choice('cancel_appointment', 'danger', 'cancel')];
    case 'mrn_duplicate':
      return [choice('renumber', 'primary'), choice('dismiss', 'secondary')];
    case 'refused':
      return [choice('dismiss', 'secondary')];
    case 'dose_twice':
    case 'prn_over_limit':
    case 'dose_after_stop':
      return [choice('review', 'primary', 'note')];
    // A patient who needs a bed is given one on the bed board (reception or a doctor): the
    // conflict closes by itself then.
    case 'bed_needed':
      return [];
    // An order changed twice is settled by a doctor on the patient's orders (stopping the
    // one not wanted): the conflict closes by itself then.
    case 'order_changed_twice':
      return [];
    // A batch below zero is brought back by whoever moves stock (a delivery, a transfer or a
    // count correction on the Pharmacy screen): the conflict leaves the inbox then.
    case 'stock_below_zero':
      return [];
    default:
      return [];
  }
}

/** The words for how a conflict was resolved (the history); the code itself if unknown. */
export function resolutionLabel(code: string | null | undefined): string {
  if (!code) return '';
  const key = `sync.resolved.${code}`;
  return hasMessage(key) ? t(key) : code;
}

// ------------------------------------------------------------------ the commands

/** The calls the sync screens make (each through `call()`). */
export const syncApi = {
  status: () => commands.syncStatus(),
  enrol: (form: EnrolForm, onProgress: Channel<SyncProgress>) =>
    commands.enrolDevice(form.server_url.trim(), form.code.trim(), form.device_name.trim(), onProgress),
  connectAgain: (code: string, onProgress: Channel<SyncProgress>) => commands.connectAgain(code.trim(), onProgress),
  syncNow: (onProgress: Channel<SyncProgress>) => commands.syncNow(onProgress),
  conflicts: (includeResolved: boolean) => commands.listSyncConflicts(includeResolved),
  resolve: (id: string, resolution: ConflictResolution) => commands.resolveSyncConflict(id, resolution),
};
