// Every limit the UI shows is the core's, exported into bindings.ts (`/* Constants */`): this
// test fails when one of those values is written again as a literal where a limit stands in
// ui/src (a maxlength, a min or max, a comparison, a MAX/MIN constant), and when any field's
// length is a number at all (stored texts: the core's `*_FIELDS`; typed numbers and times:
// lib/inputs.ts), so a copy that could drift from the core cannot come back unnoticed.

import { describe, expect, it } from 'vitest';
import bindings from './bindings.ts?raw';

const sources = import.meta.glob(['../**/*.ts', '../**/*.svelte', '!../**/*.test.ts', '!./bindings.ts', '!./locales/**'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** The exported constants: name → value, read from the generated file. */
function exportedConstants(): Map<string, unknown> {
  const block = bindings.slice(bindings.indexOf('/* Constants */'));
  const out = new Map<string, unknown>();
  for (const m of block.matchAll(/^export const (\w+) = (.+?)(?: as const)?;?$/gm)) out.set(m[1]!, JSON.parse(m[2]!));
  return out;
}

/** Code without comments and <style> blocks (a CSS weight of 500 is not a reason's length). */
function code(text: string): string {
  return text
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/**
 * The numbers of a line that stand where a limit would: a field's maxlength, min or max; a
 * length or a value compared with them; a constant named MAX or MIN. A timer's 200 ms or a
 * toast's 10,000 ms share a value with a limit but are not one.
 */
const LIMIT_PLACES: readonly RegExp[] = [
  /\b(?:limit|maxlength|minlength|max|min)=\{?\s*["']?(\d[\d_]*)(?![\w.])/g,
  /(?<![=\-])[<>]=?\s*(\d[\d_]*)(?![\w.])/g,
  /(?<![\w.])(\d[\d_]*)\s*[<>]=?(?![=>])/g,
  /\b(?:const|let)\s+\w*(?:MAX|MIN)\w*\s*(?::[^=]+)?=\s*(\d[\d_]*)(?![\w.])/g,
];

/** A field's length written as a number (any value). */
const LITERAL_LENGTH = /\b(?:limit|maxlength|minlength)=\{?\s*["']?\s*\d/;

function limitNumbersIn(line: string): number[] {
  return LIMIT_PLACES.flatMap((re) => [...line.matchAll(re)].map((m) => Number(m[1]!.replace(/_/g, ''))));
}

describe('limits come from the core', () => {
  const constants = exportedConstants();

  it('bindings.ts exports the core’s limits', () => {
    for (const name of ['BILL_DISCOUNT_LIMIT_BP', 'MAX_AMOUNT_MINOR', 'APPOINTMENT_REASON_MAX', 'PATIENT_MAX_AGE_YEARS', 'VITALS_PLAUSIBLE']) {
      expect(constants.has(name), name).toBe(true);
    }
    expect(Object.keys(sources).length).toBeGreaterThan(50);
  });

  it('no numeric limit of the core is written as a literal where a limit stands in ui/src', () => {
    // Values under 100 (5 phone numbers, 5-minute slots, 80-character names) are the widths of
    // many unrelated fields (maxlength={5} for HH:MM) and too common to tell apart.
    const limits = new Map<number, string[]>();
    for (const [name, value] of constants) {
      if (typeof value === 'number' && value >= 100) limits.set(value, [...(limits.get(value) ?? []), name]);
    }
    const found: string[] = [];
    for (const [file, text] of Object.entries(sources)) {
      for (const line of code(text).split('\n')) {
        for (const n of limitNumbersIn(line)) {
          const names = limits.get(n);
          if (names) found.push(`${file}: ${n} is ${names.join(' or ')}, import it from bindings: ${line.trim()}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('no limit, maxlength or minlength in ui/src is a number: text lengths are the core’s, input widths lib/inputs.ts', () => {
    // Values under 100 (a name's 80, a licence number's 60, a phone's 20) are no less the
    // core's; a literal width is refused whatever its value.
    const found: string[] = [];
    for (const [file, text] of Object.entries(sources)) {
      if (file.endsWith('/inputs.ts')) continue;
      for (const line of code(text).split('\n')) {
        if (LITERAL_LENGTH.test(line)) found.push(`${file}: ${line.trim()}`);
      }
    }
    expect(found).toEqual([]);
    expect(LITERAL_LENGTH.test('maxlength={80}')).toBe(true);
    expect(LITERAL_LENGTH.test('maxlength="20"')).toBe(true);
    expect(LITERAL_LENGTH.test("minlength={ '3' }")).toBe(true);
    expect(LITERAL_LENGTH.test('maxlength={STAFF_FIELDS.phone}')).toBe(false);
    expect(LITERAL_LENGTH.test('limit={80}')).toBe(true);
  });

  it('no field has a maxlength: the browser would cut pasted text without a word', () => {
    // A field shows the core's limit (`limit=`, see Field.svelte) and keeps every character;
    // the core refuses an overlong value naming the field (issue 20: never silently cut).
    const MAXLENGTH = /\bmaxlength\s*=|\{maxlength\}|\.maxLength\s*=/;
    const found: string[] = [];
    for (const [file, text] of Object.entries(sources)) {
      for (const line of code(text).split('\n')) {
        if (MAXLENGTH.test(line)) found.push(`${file}: ${line.trim()}`);
      }
    }
    expect(found).toEqual([]);
    expect(MAXLENGTH.test('maxlength={USER_FIELDS.password}')).toBe(true);
    expect(MAXLENGTH.test('{maxlength}')).toBe(true);
    expect(MAXLENGTH.test('limit={USER_FIELDS.password}')).toBe(false);
  });

  it('finds a copied limit where one stands, and not a timer of the same value', () => {
    expect(limitNumbersIn('maxlength={200}')).toEqual([200]);
    expect(limitNumbersIn('if (reason.length > 500) return;')).toEqual([500]);
    expect(limitNumbersIn('const MAX_SLOT = 240;')).toEqual([240]);
    expect(limitNumbersIn('if (n < 1 || 10_000 < n) return;')).toEqual([1, 10000]);
    expect(limitNumbersIn('setTimeout(() => void search(), 200);')).toEqual([]);
    expect(limitNumbersIn('const DURATION = { error: 10_000 };')).toEqual([]);
    expect(limitNumbersIn('const BILLS_LIMIT = 200;')).toEqual([]);
    expect(limitNumbersIn('items.map((x) => 500)')).toEqual([]);
  });

  it('no list or range of the core is copied into ui/src', () => {
    const found: string[] = [];
    const groups = constants.get('BLOOD_GROUPS') as string[];
    const ranges = Object.values(constants.get('VITALS_PLAUSIBLE') as Record<string, [number, number]>);
    for (const [file, text] of Object.entries(sources)) {
      const c = code(text);
      if (groups.filter((g) => c.includes(`'${g}'`) || c.includes(`"${g}"`)).length >= 3) found.push(`${file}: blood groups`);
      for (const [lo, hi] of ranges) {
        const pair = new RegExp(`\\[\\s*${lo}\\s*,\\s*${String(hi).replace(/(\d)(?=(\d{3})+$)/g, '$1_?')}\\s*\\]`);
        if (lo >= 4 && pair.test(c)) found.push(`${file}: the vital range [${lo}, ${hi}]`);
      }
    }
    expect(found).toEqual([]);
  });
});
