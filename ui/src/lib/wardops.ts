// Intake/output and the handover on screen: typed volumes, the kinds of each direction and how
// balances and vitals flags read. The limits and kinds are the core's (bindings constants).

import { IO_INTAKE_KINDS, IO_OUTPUT_KINDS, IO_VOLUME_MAX_ML, type IoDirection, type IoEntry, type Shift, type VitalFlag } from './bindings';
import { t, type MessageKey } from './i18n';

/** The kinds of a direction, in the core's order. */
export function ioKinds(direction: IoDirection): readonly string[] {
  return direction === 'intake' ? IO_INTAKE_KINDS : IO_OUTPUT_KINDS;
}

const IO_KIND_KEYS: Record<string, MessageKey> = {
  oral: 'wardops.io.kind.oral',
  iv: 'wardops.io.kind.iv',
  feed: 'wardops.io.kind.feed',
  other: 'wardops.io.kind.other',
  urine: 'wardops.io.kind.urine',
  drain: 'wardops.io.kind.drain',
  vomit: 'wardops.io.kind.vomit',
  stool: 'wardops.io.kind.stool',
};

/** A kind's words ("IV", "Urine"); a kind this screen does not know, as stored. */
export function ioKindLabel(kind: string): string {
  const key = IO_KIND_KEYS[kind];
  return key ? t(key) : kind;
}

export type Parsed = { ok: true; value: number } | { ok: false; reason: 'required' | 'invalid' | 'out_of_range' };

/**
 * Millilitres typed in a box: a whole number from 1 (0 for a correction, which may say the
 * entry was a mistake) to the core's most for one entry.
 */
export function parseMl(text: string, correction = false): Parsed {
  const s = text.trim();
  if (s === '') return { ok: false, reason: 'required' };
  if (!/^\d+$/.test(s)) return { ok: false, reason: 'invalid' };
  const n = Number(s);
  const low = correction ? 0 : 1;
  if (n < low || n > IO_VOLUME_MAX_ML) return { ok: false, reason: 'out_of_range' };
  return { ok: true, value: n };
}

/** "1,200 ml". */
export function formatMl(ml: number): string {
  return `${ml.toLocaleString('en-IN')} ml`;
}

/** A net balance with its sign: "+500 ml", "−650 ml", "0 ml". */
export function formatNet(ml: number): string {
  if (ml === 0) return '0 ml';
  return `${ml > 0 ? '+' : '−'}${formatMl(Math.abs(ml))}`;
}

/** Entries as the chart lists them: newest first, the ones that no longer count kept (struck through). */
export function newestFirst(entries: readonly IoEntry[]): IoEntry[] {
  return [...entries].sort((a, b) => (a.at === b.at ? b.id.localeCompare(a.id) : b.at.localeCompare(a.at)));
}

export const SHIFT_KEYS: Record<Shift, MessageKey> = {
  morning: 'wardops.shift.morning',
  evening: 'wardops.shift.evening',
  night: 'wardops.shift.night',
};

export const VITAL_KEYS: Record<string, MessageKey> = {
  temperature_c_x10: 'wardops.vital.temperature',
  pulse: 'wardops.vital.pulse',
  bp_systolic: 'wardops.vital.systolic',
  bp_diastolic: 'wardops.vital.diastolic',
  resp_rate: 'wardops.vital.resp',
  spo2: 'wardops.vital.spo2',
};

/** A flagged value in its unit: temperature from tenths of a degree. */
export function vitalValue(flag: Pick<VitalFlag, 'field' | 'value'>): string {
  return flag.field === 'temperature_c_x10' ? (flag.value / 10).toFixed(1) : String(flag.value);
}
