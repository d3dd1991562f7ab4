// The one i18n layer: every user-visible string goes through t(); every date, time, number
// and amount of money on screen through the format helpers below (or the Intl formatters
// dateTimeFormat / numberFormat make), in the clinic's locale, time zone and hour cycle
// (Settings; en-IN and 24-hour until the clinic chooses), never the computer's: a machine in
// the C locale would otherwise show mm/dd/yyyy and 12-hour times.

import { en, type Messages } from './locales/en';

type PluralSuffix = 'zero' | 'one' | 'two' | 'few' | 'many' | 'other';
type PluralBase<K> = K extends `${infer B}.other` ? B : never;

/** A key of the dictionary, or the base of a plural message (`'<base>.one'`, `'<base>.other'`…). */
export type MessageKey = keyof Messages | PluralBase<keyof Messages>;
export type Params = Record<string, string | number>;
/** A translation: the same keys as English; missing ones fall back to English. */
export type Dictionary = Partial<Record<keyof Messages, string>>;

const dictionaries: Record<string, Dictionary> = { en };

let current: Dictionary = en;
let currentLocale = 'en';

/** 24-hour ("14:05") or 12-hour ("2:05 pm") times, as the core names them. */
export type HourCycle = 'h24' | 'h12';

/** The locale before the core has said the clinic's (the core's default too). */
export const DEFAULT_LOCALE = 'en-IN';

let currentHourCycle: HourCycle = 'h24';
/** The clinic's IANA zone; undefined: this computer's (before sign-in). */
let currentTimeZone: string | undefined;

/** The clinic's formats as the core gives them (`clinic_formats`). */
export interface ClinicFormats {
  locale: string;
  hour_cycle: HourCycle;
  time_zone?: string | null;
}

function validZone(zone: string | null | undefined): string | undefined {
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

/**
 * Formats from now on as the clinic does: its locale, hour cycle and time zone (at start,
 * at sign-in, and when Settings changes them).
 */
export function setFormats(formats: ClinicFormats): void {
  setLocale(formats.locale);
  currentHourCycle = formats.hour_cycle === 'h12' ? 'h12' : 'h24';
  currentTimeZone = validZone(formats.time_zone);
  if (typeof document !== 'undefined') document.documentElement.lang = currentLocale;
}

export function getHourCycle(): HourCycle {
  return currentHourCycle;
}

export function getTimeZone(): string | undefined {
  return currentTimeZone;
}

/**
 * Chooses the language of the messages and the locale of dates and numbers. Messages come from
 * the dictionary of the language (e.g. `hi` for `hi-IN`), falling back to English.
 */
export function setLocale(locale: string): void {
  currentLocale = canonicalLocale(locale);
  const language = currentLocale.split('-')[0]?.toLowerCase() ?? 'en';
  current = dictionaries[currentLocale] ?? dictionaries[language] ?? en;
}

/**
 * A locale tag Intl accepts. The webview's language comes from the environment and may be
 * "C", "POSIX" or "en_IN.UTF-8" on Linux; those become "en" or "en-IN".
 */
export function canonicalLocale(tag: string): string {
  const cleaned = tag.split(/[.@]/)[0]?.replace(/_/g, '-') ?? '';
  try {
    const [canonical] = Intl.getCanonicalLocales(cleaned);
    if (canonical && Intl.DateTimeFormat.supportedLocalesOf(canonical).length > 0) return canonical;
  } catch {
    // not a valid BCP 47 tag
  }
  return 'en';
}

export function getLocale(): string {
  return currentLocale;
}

setLocale(DEFAULT_LOCALE);

/**
 * An Intl.DateTimeFormat in the clinic's locale, time zone and hour cycle: every date and
 * time on screen is made by one. `zone: 'utc'` for values that are already the clinic's wall
 * clock (a bare day, a slot's "09:15"), built as UTC dates so that no zone shifts them.
 */
export function dateTimeFormat(options: Intl.DateTimeFormatOptions, zone: 'clinic' | 'utc' = 'clinic'): Intl.DateTimeFormat {
  const hasTime = options.hour !== undefined || options.timeStyle !== undefined;
  return new Intl.DateTimeFormat(currentLocale, {
    ...options,
    ...(hasTime ? { hourCycle: currentHourCycle === 'h12' ? 'h12' : 'h23' } : {}),
    timeZone: zone === 'utc' ? 'UTC' : currentTimeZone,
  });
}

/** An Intl.NumberFormat in the clinic's locale (or `locale`, e.g. en-IN grouping for rupees). */
export function numberFormat(options?: Intl.NumberFormatOptions, locale: string = currentLocale): Intl.NumberFormat {
  return new Intl.NumberFormat(locale, options);
}

function lookup(key: string): string | undefined {
  return (current as Record<string, string | undefined>)[key] ?? (en as Record<string, string | undefined>)[key];
}

function pluralCategory(count: number): PluralSuffix {
  try {
    return new Intl.PluralRules(currentLocale).select(count) as PluralSuffix;
  } catch {
    return count === 1 ? 'one' : 'other';
  }
}

/** Whether the dictionary has this key (or plural forms of it). */
export function hasMessage(key: string): key is MessageKey {
  return lookup(key) !== undefined || lookup(`${key}.other`) !== undefined;
}

/**
 * The message for `key` with `{name}` placeholders replaced from `params`. A numeric
 * `params.count` picks the plural form. An unknown key is returned as it is, so that a
 * missing translation is visible but never breaks the screen.
 */
export function t(key: MessageKey, params?: Params): string {
  let text: string | undefined;
  const count = params?.count;
  if (typeof count === 'number') {
    text = lookup(`${key}.${pluralCategory(count)}`) ?? lookup(`${key}.other`);
  }
  text ??= lookup(key) ?? lookup(`${key}.other`);
  if (text === undefined) return key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? formatNumber(value) : value;
  });
}

/** A number in the clinic's locale (grouping, digits). */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  try {
    return numberFormat(options).format(value);
  } catch {
    return String(value);
  }
}

/** `0001732270000000-000000-<device>`: a hybrid logical clock stamp (`updated_at` of synced rows). */
const HLC_STAMP = /^(\d{13,16})-\d+-/;

/** An instant from RFC 3339 text or from an HLC stamp (whose first part is Unix milliseconds). */
export function parseInstant(text: string | null | undefined): Date | null {
  if (!text) return null;
  const hlc = HLC_STAMP.exec(text);
  const date = hlc ? new Date(Number(hlc[1])) : new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

const parse = parseInstant;

/** Numeric dates in the locale's order: 05/03/2026 (en-IN, en-GB), 03/05/2026 (en-US). */
const DATE_PARTS: Intl.DateTimeFormatOptions = { day: '2-digit', month: '2-digit', year: 'numeric' };
const TIME_PARTS: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit' };

/**
 * An instant (RFC 3339, or an HLC stamp) as the clinic's local date and time (en-IN:
 * "05/03/2026, 14:05"); '' for none; text that is neither is shown as it is.
 */
export function formatDateTime(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return iso ?? '';
  try {
    return dateTimeFormat({ ...DATE_PARTS, ...TIME_PARTS }).format(date);
  } catch {
    return date.toISOString();
  }
}

/** Like formatDateTime with seconds, for the audit log where order within a minute matters. */
export function formatDateTimeSeconds(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return iso ?? '';
  try {
    return dateTimeFormat({ ...DATE_PARTS, ...TIME_PARTS, second: '2-digit' }).format(date);
  } catch {
    return date.toISOString();
  }
}

/** An instant as the clinic's time of day ("14:05", or "02:05 pm" on a 12-hour clock). */
export function formatTime(iso: string | Date | null | undefined): string {
  const date = iso instanceof Date ? iso : parse(iso);
  if (!date) return typeof iso === 'string' ? iso : '';
  try {
    return dateTimeFormat(TIME_PARTS).format(date);
  } catch {
    return date.toISOString();
  }
}

/** The clinic's calendar day of an instant, as YYYY-MM-DD (its zone, not this computer's). */
export function clinicDay(date: Date = new Date()): string {
  try {
    const parts = dateTimeFormat({ year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(date);
    const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
    const [y, m, d] = [part('year'), part('month'), part('day')];
    if (/^\d{4}$/.test(y) && /^\d{2}$/.test(m) && /^\d{2}$/.test(d)) return `${y}-${m}-${d}`;
  } catch {
    // fall through
  }
  return date.toISOString().slice(0, 10);
}

/** A list of words joined the local way ("Doctor and Nurse"). */
export function formatList(items: string[]): string {
  try {
    return new Intl.ListFormat(currentLocale, { style: 'long', type: 'conjunction' }).format(items);
  } catch {
    return items.join(', ');
  }
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A calendar day (`YYYY-MM-DD`, e.g. a date of birth) or an instant as the clinic's date
 * (en-IN: "05/03/2026"). A bare day is that day wherever the computer is (no zone shift).
 */
export function formatDate(text: string | null | undefined): string {
  if (!text) return '';
  const day = DAY.exec(text);
  const date = day ? new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]))) : parse(text);
  if (!date || Number.isNaN(date.getTime())) return text;
  try {
    return dateTimeFormat(DATE_PARTS, day ? 'utc' : 'clinic').format(date);
  } catch {
    return text;
  }
}

/** A calendar day (`YYYY-MM-DD`) with other parts (a weekday, a month's name); '' if not a day. */
export function formatDay(text: string, options: Intl.DateTimeFormatOptions): string {
  const day = DAY.exec(text);
  if (!day) return '';
  try {
    return dateTimeFormat(options, 'utc').format(new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]))));
  } catch {
    return text;
  }
}

/** A wall-clock time of the clinic ("09:15", minutes since midnight) by its hour cycle. */
export function formatWallClock(minutes: number): string {
  try {
    return dateTimeFormat(TIME_PARTS, 'utc').format(new Date(Date.UTC(2024, 0, 1, Math.floor(minutes / 60), minutes % 60)));
  } catch {
    return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  }
}

type DayPart = 'day' | 'month' | 'year';

/**
 * How a date is typed in the clinic's locale: the order of day, month and year, and a
 * placeholder ("dd/mm/yyyy" for en-IN, "mm/dd/yyyy" for en-US). Date fields are text in this
 * order rather than the engine's date widget, which follows the computer's locale (WebKitGTK
 * under a C locale asks for month first whatever the clinic uses).
 */
export function dateInputPattern(): { order: DayPart[]; placeholder: string } {
  const order: DayPart[] = [];
  let placeholder = '';
  try {
    const parts = dateTimeFormat(DATE_PARTS, 'utc').formatToParts(new Date(Date.UTC(2026, 10, 22)));
    for (const p of parts) {
      if (p.type === 'day' || p.type === 'month' || p.type === 'year') {
        order.push(p.type);
        placeholder += { day: 'dd', month: 'mm', year: 'yyyy' }[p.type];
      } else if (p.type === 'literal') {
        placeholder += p.value;
      }
    }
  } catch {
    // fall through
  }
  if (order.length !== 3) return { order: ['day', 'month', 'year'], placeholder: 'dd/mm/yyyy' };
  return { order, placeholder };
}

/**
 * A date typed in the clinic's order ("5/3/2026", "05-03-2026", "05.03.2026") or as
 * YYYY-MM-DD, as `YYYY-MM-DD`; null when it is not a whole, real day (31/02 is not).
 */
export function parseDateInput(text: string): string | null {
  const trimmed = text.trim();
  const iso = DAY.exec(trimmed);
  const numbers = iso ? [iso[1]!, iso[2]!, iso[3]!] : trimmed.split(/[\s/.\-]+/);
  if (numbers.length !== 3 || !numbers.every((n) => /^\d+$/.test(n))) return null;
  const order: DayPart[] = iso ? ['year', 'month', 'day'] : dateInputPattern().order;
  const value = (part: DayPart) => numbers[order.indexOf(part)]!;
  if (value('year').length !== 4 || value('month').length > 2 || value('day').length > 2) return null;
  const [y, m, d] = [Number(value('year')), Number(value('month')), Number(value('day'))];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${value('year')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}
