// The pharmacy screens' words and the small conversions of their forms. Every rule (what may
// be dispensed, which batch, how much a course needs, the labels) is the core's: this file
// only reads what people type into numbers and names the core's codes in words.

import type { ItemKind, PassedReason, StockStore, StoreKind } from './bindings';
import { STOCK_QUANTITY_MAX } from './bindings';
import { parseMoney } from './billing';
import { formatNumber, t, type MessageKey } from './i18n';

/** Why stock is adjusted (the core's `AdjustReason` codes; its input takes them as text). */
export type AdjustReason = 'damaged' | 'expired' | 'count_correction';

/** A quantity as the bindings carry it (a 64-bit number comes as `number | null`). */
export function qty(n: number | null | undefined): number {
  return n ?? 0;
}

export const STORE_KINDS: readonly StoreKind[] = ['main', 'pharmacy', 'lab', 'ward'];
export const ITEM_KINDS: readonly ItemKind[] = ['medicine', 'lab_consumable', 'other'];
export const ADJUST_REASONS: readonly AdjustReason[] = ['damaged', 'expired', 'count_correction'];
/** The expiry list's windows, in days. */
export const EXPIRY_WINDOWS: readonly number[] = [30, 60, 90];

export function storeKindLabel(kind: StoreKind): string {
  return t(`pharmacy.storeKind.${kind}` as MessageKey);
}

export function itemKindLabel(kind: ItemKind): string {
  return t(`pharmacy.itemKind.${kind}` as MessageKey);
}

export function adjustReasonLabel(reason: AdjustReason): string {
  return t(`pharmacy.adjustReason.${reason}` as MessageKey);
}

/** Why the allocator passed a batch over, in words. */
export function passedReasonLabel(reason: PassedReason): string {
  return t(`pharmacy.passed.${reason}` as MessageKey);
}

/** A difference with its sign: "+4", "−1", "0" (a stock take's variance). */
export function signedNumber(n: number): string {
  if (n > 0) return `+${formatNumber(n)}`;
  if (n < 0) return `−${formatNumber(-n)}`;
  return formatNumber(0);
}

/** "Amoxicillin 500 mg capsule". */
export function itemName(item: { generic_name: string; strength: string; form: string }): string {
  return [item.generic_name, item.strength, item.form].filter((s) => s.trim() !== '').join(' ');
}

/** The store to work in first: the first open pharmacy counter, else the first open store. */
export function defaultStore(stores: readonly StockStore[], kind: StoreKind = 'pharmacy'): string {
  const open = stores.filter((s) => s.active);
  return (open.find((s) => s.kind === kind) ?? open[0])?.id ?? '';
}

export type Parsed = { ok: true; value: number } | { ok: false; problem: 'required' | 'invalid' | 'out_of_range' };

/**
 * A whole number of units as typed. `zero`: 0 is allowed (a receipt line's loose units);
 * `signed`: a leading minus is allowed (a count correction). Empty is `required` unless
 * `emptyIs` gives its value.
 */
export function parseUnits(
  raw: string | number | null | undefined,
  opts: { zero?: boolean; signed?: boolean; emptyIs?: number } = {},
): Parsed {
  const text = String(raw ?? '').trim().replace(/^[−–]/, '-');
  if (text === '') return opts.emptyIs !== undefined ? { ok: true, value: opts.emptyIs } : { ok: false, problem: 'required' };
  if (!(opts.signed ? /^-?\d+$/ : /^\d+$/).test(text)) return { ok: false, problem: 'invalid' };
  const n = Number(text);
  if (Math.abs(n) > STOCK_QUANTITY_MAX) return { ok: false, problem: 'out_of_range' };
  if (n === 0 && !opts.zero) return { ok: false, problem: 'out_of_range' };
  return { ok: true, value: n };
}

/** One line of a delivery as the form holds it (text, as typed). */
export interface ReceiptLineForm {
  item_id: string;
  item_label: string;
  batch_no: string;
  /** YYYY-MM-DD (the date field's value). */
  expiry: string;
  packs: string;
  units: string;
  free_units: string;
  /** Per pack, in the currency's units ("30.00"). */
  pack_cost: string;
  /** Per base unit; empty: the item's own sale price. */
  sale_price: string;
}

export function emptyReceiptLine(): ReceiptLineForm {
  return { item_id: '', item_label: '', batch_no: '', expiry: '', packs: '', units: '', free_units: '', pack_cost: '', sale_price: '' };
}

/** What the core receives for a line, or the problems by field (`lines.<i>.<field>`). */
export function receiptLine(
  form: ReceiptLineForm,
  i: number,
): { ok: true; value: ReceiptLineValue } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const say = (field: string, problem: string) => (errors[`lines.${i}.${field}`] = t(`validation.${problem}` as MessageKey));
  const packs = parseUnits(form.packs, { zero: true, emptyIs: 0 });
  const units = parseUnits(form.units, { zero: true, emptyIs: 0 });
  const free = parseUnits(form.free_units, { zero: true, emptyIs: 0 });
  const cost = form.pack_cost.trim() === '' ? ({ ok: true, value: 0 } as const) : parseMoney(form.pack_cost);
  const price = form.sale_price.trim() === '' ? ({ ok: true, value: null } as const) : parseMoney(form.sale_price);
  if (!form.item_id) say('item_id', 'required');
  if (!packs.ok) say('packs', packs.problem);
  if (!units.ok) say('units', units.problem);
  if (!free.ok) say('free_units', free.problem);
  if (!cost.ok) say('pack_cost_minor', 'invalid');
  if (!price.ok) say('sale_price_minor', 'invalid');
  if (!packs.ok || !units.ok || !free.ok || !cost.ok || !price.ok || !form.item_id) return { ok: false, errors };
  return {
    ok: true,
    value: {
      item_id: form.item_id,
      batch_no: form.batch_no.trim(),
      expiry: form.expiry,
      packs: packs.value,
      units: units.value,
      free_units: free.value,
      pack_cost_minor: cost.value,
      sale_price_minor: price.value,
    },
  };
}

export interface ReceiptLineValue {
  item_id: string;
  batch_no: string;
  expiry: string;
  packs: number;
  units: number;
  free_units: number;
  pack_cost_minor: number;
  sale_price_minor: number | null;
}

/** The fields of a delivery form that errors can name, for `lines` lines. */
export function receiptFields(lines: number): string[] {
  const per = ['item_id', 'batch_no', 'expiry', 'packs', 'units', 'free_units', 'pack_cost_minor', 'sale_price_minor'];
  const out = ['store_id', 'supplier_id', 'invoice_no', 'note', 'lines'];
  for (let i = 0; i < lines; i++) for (const f of per) out.push(`lines.${i}.${f}`);
  return out;
}

/** How an expiry line is shown: expired, within 30 days, or later. */
export function expiryTone(daysLeft: number): 'expired' | 'soon' | 'later' {
  if (daysLeft < 0) return 'expired';
  return daysLeft <= 30 ? 'soon' : 'later';
}

/** "12 days", "expired 3 days ago", "today". */
export function daysLeftText(daysLeft: number): string {
  if (daysLeft === 0) return t('pharmacy.expiry.today');
  if (daysLeft < 0) return t('pharmacy.expiry.ago', { count: -daysLeft });
  return t('pharmacy.expiry.left', { count: daysLeft });
}

/** A dispense error of line 0 (`lines.0.quantity`) as the dialog's own field (`quantity`). */
export function lineField(field: string): string {
  return field.replace(/^lines\.\d+\./, '');
}
