import { afterEach, describe, expect, it } from 'vitest';
import { en } from './locales/en';
import { formatMoney } from './billing';
import {
  DEFAULT_LOCALE,
  canonicalLocale,
  clinicDay,
  dateInputPattern,
  formatDate,
  formatDateTime,
  formatDateTimeSeconds,
  formatList,
  formatNumber,
  formatTime,
  hasMessage,
  parseDateInput,
  parseInstant,
  setFormats,
  setLocale,
  t,
  type MessageKey,
} from './i18n';

afterEach(() => setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: null }));

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

describe('the clinic\'s locale, hour cycle and time zone', () => {
  // ICU puts a narrow no-break space before am/pm in newer versions.
  const plain = (s: string) => s.replace(/\s/g, ' ');
  const india = { locale: 'en-IN', hour_cycle: 'h24', time_zone: 'Asia/Kolkata' } as const;

  it('en-IN gives dd/mm/yyyy and 24-hour times, in the clinic\'s zone', () => {
    setFormats(india);
    expect(formatDate('2026-03-05')).toBe('05/03/2026');
    // 20:00 UTC on 4 March is 01:30 on 5 March in Kolkata: the clinic's day, not UTC's.
    expect(formatDateTime('2026-03-04T20:00:00Z')).toBe('05/03/2026, 01:30');
    expect(formatDate('2026-03-04T20:00:00Z')).toBe('05/03/2026');
    expect(clinicDay(new Date('2026-03-04T20:00:00Z'))).toBe('2026-03-05');
    expect(formatTime('2026-03-05T08:35:00Z')).toBe('14:05');
    expect(formatDateTimeSeconds('2026-03-05T08:35:09Z')).toBe('05/03/2026, 14:05:09');
  });

  it('12-hour times when the clinic chooses them', () => {
    setFormats({ ...india, hour_cycle: 'h12' });
    expect(plain(formatTime('2026-03-05T08:35:00Z'))).toBe('02:05 pm');
    expect(plain(formatDateTime('2026-03-05T08:35:00Z'))).toBe('05/03/2026, 02:05 pm');
  });

  it('en-US puts the month first; en-GB the day', () => {
    setFormats({ locale: 'en-US', hour_cycle: 'h12', time_zone: 'America/New_York' });
    expect(formatDate('2026-03-05')).toBe('03/05/2026');
    expect(plain(formatDateTime('2026-03-05T20:00:00Z'))).toBe('03/05/2026, 03:00 PM');
    setFormats({ locale: 'en-GB', hour_cycle: 'h24', time_zone: 'Europe/London' });
    expect(formatDate('2026-03-05')).toBe('05/03/2026');
  });

  it('a bare day (a date of birth) is that day in any zone', () => {
    for (const time_zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'Asia/Kolkata']) {
      setFormats({ ...india, time_zone });
      expect(formatDate('1984-01-01')).toBe('01/01/1984');
    }
  });

  it('money and numbers group the Indian way in en-IN', () => {
    setFormats(india);
    expect(formatMoney(12345600, 'INR')).toBe('₹1,23,456.00');
    expect(formatNumber(1234567)).toBe('12,34,567');
    setFormats({ ...india, locale: 'en-US' });
    expect(formatNumber(1234567)).toBe('1,234,567');
  });

  it('starts as en-IN, 24-hour, whatever the computer\'s language (a C locale gave mm/dd/yyyy)', () => {
    expect(DEFAULT_LOCALE).toBe('en-IN');
    setLocale('C');
    setFormats({ locale: DEFAULT_LOCALE, hour_cycle: 'h24', time_zone: 'UTC' });
    expect(formatDateTime('2026-03-05T14:05:00Z')).toBe('05/03/2026, 14:05');
  });

  it('ignores a zone the engine does not know (this computer\'s applies)', () => {
    setFormats({ ...india, time_zone: 'Mars/Olympus' });
    expect(formatDate('2026-03-05')).toBe('05/03/2026');
  });
});

describe('dates typed in the clinic’s order', () => {
  it('reads day first for en-IN and month first for en-US, whatever the computer uses', () => {
    try {
      setFormats({ locale: 'en-IN', hour_cycle: 'h24', time_zone: 'Asia/Kolkata' });
      expect(dateInputPattern().placeholder).toBe('dd/mm/yyyy');
      expect(parseDateInput('05/03/2026')).toBe('2026-03-05');
      expect(parseDateInput('5-3-2026')).toBe('2026-03-05');
      expect(parseDateInput(' 05.03.2026 ')).toBe('2026-03-05');
      setFormats({ locale: 'en-US', hour_cycle: 'h12', time_zone: 'America/New_York' });
      expect(dateInputPattern().placeholder).toBe('mm/dd/yyyy');
      expect(parseDateInput('05/03/2026')).toBe('2026-05-03');
    } finally {
      setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: null });
    }
  });

  it('takes YYYY-MM-DD too, and refuses what is not one whole, real day', () => {
    expect(parseDateInput('2026-03-05')).toBe('2026-03-05');
    for (const bad of ['', '05/03', '31/02/2026', '05/03/26', '05/13/2026/1', 'today', '1/1/20266']) {
      expect(parseDateInput(bad), bad).toBeNull();
    }
  });
});
