// How the audit screen words entries.

import { hasMessage, t } from './i18n';

/** A human label for an action code ("auth.sign_in" → "Signed in"); the code itself if unknown. */
export function actionLabel(action: string): string {
  const key = `audit.act.${action}`;
  return hasMessage(key) ? t(key) : action;
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) {
    return value.map(valueText).join(', ');
  }
  return JSON.stringify(value);
}

/**
 * An entry's detail (JSON text) as one readable line: `key: value; key: value`. Nested values
 * stay compact JSON; text that is not a JSON object is shown as it is; `{}` is empty.
 */
export function describeDetail(detail: string): string {
  const text = detail.trim();
  if (!text) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return valueText(parsed);
  return Object.entries(parsed as Record<string, unknown>)
    .map(([key, value]) => `${key}: ${valueText(value)}`)
    .join('; ');
}

export const AUDIT_PAGE_SIZE = 50;

/** The 1-based range shown on a page, e.g. { first: 51, last: 100 } of a total. */
export function pageRange(offset: number, shown: number, total: number): { first: number; last: number } {
  if (shown === 0 || total === 0) return { first: 0, last: 0 };
  return { first: offset + 1, last: Math.min(offset + shown, total) };
}
