// The one i18n layer: every user-visible string goes through t(); dates and numbers through
// the format helpers below, in the user's locale.

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

function systemLocale(): string {
  if (typeof navigator !== 'undefined' && navigator.language) return navigator.language;
  return 'en';
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

setLocale(systemLocale());

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

/** A number in the user's locale (grouping, digits). */
export function formatNumber(value: number): string {
  try {
    return new Intl.NumberFormat(currentLocale).format(value);
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

/**
 * An instant (RFC 3339, or an HLC stamp) as a local date and time (e.g. "3 Mar 2026, 14:05");
 * '' for none; text that is neither is shown as it is.
 */
export function formatDateTime(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return iso ?? '';
  try {
    return new Intl.DateTimeFormat(currentLocale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
  } catch {
    return date.toISOString();
  }
}

/** Like formatDateTime with seconds, for the audit log where order within a minute matters. */
export function formatDateTimeSeconds(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return iso ?? '';
  try {
    return new Intl.DateTimeFormat(currentLocale, { dateStyle: 'medium', timeStyle: 'medium' }).format(date);
  } catch {
    return date.toISOString();
  }
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
 * A calendar day (`YYYY-MM-DD`, e.g. a date of birth) or an instant as a local date ("3 Mar
 * 2026"). A bare day is read as that day wherever the user is (no time-zone shift).
 */
export function formatDate(text: string | null | undefined): string {
  if (!text) return '';
  const day = DAY.exec(text);
  const date = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : parse(text);
  if (!date || Number.isNaN(date.getTime())) return text;
  try {
    return new Intl.DateTimeFormat(currentLocale, { dateStyle: 'medium' }).format(date);
  } catch {
    return text;
  }
}
