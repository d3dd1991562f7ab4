// Small helpers shared by the forms.

import { tick } from 'svelte';
import { formatNumber, t } from './i18n';

/**
 * After a failed submit: moves focus to the first field marked invalid in the form and scrolls
 * it, with its label and error, into view below the sticky header (`scroll-margin-top` in
 * app.css accounts for it; a focus alone would scroll the field under the header).
 */
export async function focusFirstInvalid(container: HTMLElement | null | undefined): Promise<void> {
  await tick();
  const field = container?.querySelector<HTMLElement>('[aria-invalid="true"]');
  if (!field) return;
  field.focus({ preventScroll: true });
  scrollToShow(field.closest<HTMLElement>('.field') ?? field);
}

/** Scrolls an element into view (only as far as needed), clear of the sticky header. */
export function scrollToShow(element: HTMLElement): void {
  element.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
}

/**
 * What a field says when its text is longer than the core accepts. The text is never cut (a
 * `maxlength` would cut pasted text without a word): the user sees by how much and shortens it.
 */
export function tooLong(limit: number, length: number): string {
  return t('common.too_long', { limit: formatNumber(limit), count: formatNumber(length) });
}

/** Removes one field's error (typing into a field clears what was said about it). */
export function withoutField(errors: Record<string, string>, field: string): Record<string, string> {
  if (!(field in errors)) return errors;
  const { [field]: _removed, ...rest } = errors;
  void _removed;
  return rest;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A short form of a UUID (device, record) for tables; the full id goes in a title. The tail
 * is kept: a UUIDv7 starts with its timestamp, so its head is alike for ids minted around the
 * same time, while its tail is random. Other ids (a setting's key) are shown as they are.
 */
export function shortId(id: string | null | undefined, length = 8): string {
  if (!id) return '';
  return UUID.test(id) ? `…${id.slice(-length)}` : id;
}
