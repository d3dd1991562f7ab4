import { describe, expect, it } from 'vitest';
import { IO_INTAKE_KINDS, IO_OUTPUT_KINDS, IO_VOLUME_MAX_ML, type IoEntry } from './bindings';
import { formatNet, ioKindLabel, ioKinds, newestFirst, parseMl, vitalValue } from './wardops';

describe('intake/output', () => {
  it('offers each direction its own kinds from the core', () => {
    expect(ioKinds('intake')).toBe(IO_INTAKE_KINDS);
    expect(ioKinds('output')).toBe(IO_OUTPUT_KINDS);
    expect(ioKinds('output')).toContain('urine');
    expect(ioKinds('intake')).not.toContain('urine');
  });

  it('words every kind the core knows', () => {
    for (const k of [...IO_INTAKE_KINDS, ...IO_OUTPUT_KINDS]) expect(ioKindLabel(k)).not.toBe(k);
    expect(ioKindLabel('iv')).toBe('IV');
  });

  it('reads whole millilitres within the core limit; 0 only for a correction', () => {
    expect(parseMl(' 250 ')).toEqual({ ok: true, value: 250 });
    expect(parseMl('')).toEqual({ ok: false, reason: 'required' });
    expect(parseMl('2.5')).toEqual({ ok: false, reason: 'invalid' });
    expect(parseMl('-5')).toEqual({ ok: false, reason: 'invalid' });
    expect(parseMl('0')).toEqual({ ok: false, reason: 'out_of_range' });
    expect(parseMl('0', true)).toEqual({ ok: true, value: 0 });
    expect(parseMl(String(IO_VOLUME_MAX_ML))).toEqual({ ok: true, value: IO_VOLUME_MAX_ML });
    expect(parseMl(String(IO_VOLUME_MAX_ML + 1))).toEqual({ ok: false, reason: 'out_of_range' });
  });

  it('signs the net balance', () => {
    expect(formatNet(500)).toBe('+500 ml');
    expect(formatNet(-650)).toBe('−650 ml');
    expect(formatNet(0)).toBe('0 ml');
    expect(formatNet(1200)).toBe('+1,200 ml');
  });

  it('lists the newest entry first', () => {
    const e = (id: string, at: string) => ({ id, at }) as IoEntry;
    const got = newestFirst([e('a', '2026-12-01T10:00:00.000Z'), e('c', '2026-12-01T12:00:00.000Z'), e('b', '2026-12-01T10:00:00.000Z')]);
    expect(got.map((x) => x.id)).toEqual(['c', 'b', 'a']);
  });

  it('shows a temperature flag in degrees', () => {
    expect(vitalValue({ field: 'temperature_c_x10', value: 389 })).toBe('38.9');
    expect(vitalValue({ field: 'spo2', value: 91 })).toBe('91');
  });
});
