import { afterEach, describe, expect, it } from 'vitest';
import { en } from './locales/en';
import { canonicalLocale, formatDateTime, formatList, hasMessage, parseInstant, setLocale, t, type MessageKey } from './i18n';

afterEach(() => setLocale('en-US'));

describe('the English dictionary', () => {
  const entries = Object.entries(en) as [string, string][];

  it('has only non-empty messages', () => {
    expect(entries.length).toBeGreaterThan(50);
    for (const [key, text] of entries) {
      expect(text.trim(), key).not.toBe('');
    }
  });

  it('uses dotted lower-case keys', () => {
    for (const [key] of entries) expect(key).toMatch(/^[a-z][a-z0-9_]*(\.[a-zA-Z0-9_]+)+$/);
  });

  it('gives every plural message an "other" form with the same placeholders', () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of entries) {
      const m = /^(.*)\.(zero|one|two|few|many)$/.exec(key);
      if (!m) continue;
      const other = (en as Record<string, string>)[`${m[1]}.other`];
      expect(other, `${m[1]}.other`).toBeDefined();
      expect(placeholders(text), key).toEqual(placeholders(other!));
    }
  });

  it('has balanced placeholders', () => {
    for (const [key, text] of entries) {
      const open = (text.match(/\{/g) ?? []).length;
      const close = (text.match(/\}/g) ?? []).length;
      expect(open, key).toBe(close);
    }
  });
});

describe('t', () => {
  it('returns the message for a key', () => {
    expect(t('nav.users')).toBe('Users');
  });

  it('interpolates parameters, formatting numbers', () => {
    expect(t('home.title', { name: 'Asha Menon' })).toBe('Welcome, Asha Menon');
    expect(t('audit.range', { first: 1, last: 50, total: 1234 })).toBe('1–50 of 1,234');
  });

  it('leaves a placeholder without a parameter visible', () => {
    expect(t('home.title')).toBe('Welcome, {name}');
    expect(t('home.title', { other: 'x' })).toBe('Welcome, {name}');
  });

  it('picks the plural form from count', () => {
    expect(t('audit.intact', { count: 1 })).toBe('Audit chain intact: 1 entry checked.');
    expect(t('audit.intact', { count: 7 })).toBe('Audit chain intact: 7 entries checked.');
    expect(t('audit.intact', { count: 0 })).toBe('Audit chain intact: 0 entries checked.');
  });

  it('returns a missing key as it is', () => {
    expect(t('no.such.key' as MessageKey)).toBe('no.such.key');
    expect(hasMessage('no.such.key')).toBe(false);
    expect(hasMessage('audit.intact')).toBe(true);
    expect(hasMessage('nav.home')).toBe(true);
  });

  it('accepts the locale names of a Linux environment', () => {
    expect(canonicalLocale('en_IN.UTF-8')).toBe('en-IN');
    expect(canonicalLocale('hi-in')).toBe('hi-IN');
    expect(canonicalLocale('C')).toBe('en');
    expect(canonicalLocale('POSIX')).toBe('en');
    expect(canonicalLocale('')).toBe('en');
    setLocale('C');
    expect(formatDateTime('2026-03-04T09:05:00Z')).not.toMatch(/T09:05/);
  });

  it('falls back to English for a language without a dictionary', () => {
    setLocale('xx-YY');
    expect(t('nav.audit')).toBe('Audit log');
  });
});

describe('formatting', () => {
  it('formats an RFC 3339 instant in the locale, not as the raw text', () => {
    setLocale('en-GB');
    const text = formatDateTime('2026-03-04T09:05:00Z');
    expect(text).not.toBe('2026-03-04T09:05:00Z');
    expect(text).toMatch(/2026/);
    expect(text).toMatch(/Mar/);
  });

  it('reads hybrid logical clock stamps (updated_at) as their wall-clock time', () => {
    const stamp = `${String(Date.parse('2026-03-04T09:05:00Z')).padStart(16, '0')}-000003-0195f3a2-7b4c-7d10-8e2f-1a2b3c4d5e6f`;
    expect(parseInstant(stamp)?.toISOString()).toBe('2026-03-04T09:05:00.000Z');
    expect(formatDateTime(stamp)).toBe(formatDateTime('2026-03-04T09:05:00Z'));
    expect(parseInstant('2026-03-04T09:05:00+05:30')?.toISOString()).toBe('2026-03-04T03:35:00.000Z');
  });

  it('passes through text that is not a date, and empty for none', () => {
    expect(formatDateTime('not a date')).toBe('not a date');
    expect(formatDateTime(null)).toBe('');
  });

  it('joins lists the local way', () => {
    setLocale('en-US');
    expect(formatList(['Doctor', 'Nurse'])).toBe('Doctor and Nurse');
  });
});
