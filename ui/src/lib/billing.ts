// What the Billing and Tariff screens derive, build and check: money typed as text and shown
// in the clinic's currency (always integer minor units, never float arithmetic), percentages
// and tax rates in basis points, a line form read into the core's LineInput, the amount a
// payment starts from, and the words
// for statuses and modes. Pure functions, tested without Tauri.

import {
  BASIS_POINTS,
  BILL_DESCRIPTION_MAX,
  BILL_MAX_QUANTITY,
  BILLING_REASON_MAX,
  MAX_AMOUNT_MINOR,
  type AppError,
  type Bill,
  type BillStatus,
  type Category,
  type Discount,
  type PaymentMode,
  type PaymentStatus,
  type ValidationReason,
} from './bindings';
import { errorMessage, validationMessage } from './errors';
import { clinicDay, getLocale, hasMessage, numberFormat, t, type MessageKey } from './i18n';

// The limits are the core's (exported into bindings.ts), never copies.
export { BILL_CANCEL_REASON_MAX, BILL_DESCRIPTION_MAX, BILL_DISCOUNT_LIMIT_BP, MAX_AMOUNT_MINOR } from './bindings';
/** Reasons of refunds and credit notes, and payment notes, have at most this many characters. */
export const MAX_REASON = BILLING_REASON_MAX;
/** How many bills the list asks for. */
export const BILLS_LIMIT = 200;

/** GST slabs offered as quick picks, in basis points. */
export const TAX_RATE_PICKS: readonly number[] = [0, 500, 1200, 1800, 2800];
export const CATEGORIES: readonly Category[] = ['consultation', 'procedure', 'lab_test', 'pharmacy', 'bed_day', 'other'];
/** Modes the desk takes money in (insurance is settled from the insurance panel). */
export const DESK_MODES: readonly PaymentMode[] = ['cash', 'card', 'upi', 'bank_transfer'];
export const CURRENCIES: readonly string[] = ['INR', 'USD', 'EUR', 'GBP'];
export const BILL_FILTERS: readonly ('all' | BillStatus)[] = ['all', 'draft', 'final', 'cancelled'];

// ------------------------------------------------------------------ money as text

export type MoneyProblem = 'required' | 'invalid' | 'decimals' | 'negative' | 'not_positive' | 'too_large';
export type Parsed<P> = { ok: true; value: number } | { ok: false; problem: P };

/** Digits only, or grouped by thousands (1,234,567), or the Indian way (12,34,567). */
const PLAIN = /^\d+$/;
const WESTERN = /^\d{1,3}(?:,\d{3})+$/;
const INDIAN = /^\d{1,2}(?:,\d{2})*,\d{3}$/;

function integerPart(text: string): string | null {
  if (text === '') return '0';
  if (PLAIN.test(text) || WESTERN.test(text) || INDIAN.test(text)) return text.replace(/,/g, '');
  return null;
}

/**
 * Money typed by a person ("450", "450.5", "1,234.50", "12,34,567.00") as integer minor units,
 * by reading the digits (never by multiplying a float). Refused: empty, a sign, letters,
 * commas in the wrong places ("12,50" could mean 12.50 elsewhere), more than two decimals,
 * zero when `positive`, and anything above `max` (1,00,00,000.00 by default).
 */
export function parseMoney(raw: string | null | undefined, opts: { positive?: boolean; max?: number } = {}): Parsed<MoneyProblem> {
  const text = (raw ?? '').trim();
  if (text === '') return { ok: false, problem: 'required' };
  if (/^[-−–]/.test(text)) return { ok: false, problem: 'negative' };
  const m = /^([\d,]*)(?:\.(\d*))?$/.exec(text);
  if (!m) return { ok: false, problem: 'invalid' };
  const whole = m[1] ?? '';
  const fraction = m[2];
  if (whole === '' && (fraction === undefined || fraction === '')) return { ok: false, problem: 'invalid' };
  if (fraction !== undefined && fraction === '') return { ok: false, problem: 'invalid' };
  const digits = integerPart(whole);
  if (digits === null) return { ok: false, problem: 'invalid' };
  if (fraction !== undefined && fraction.length > 2) return { ok: false, problem: 'decimals' };
  const units = digits.replace(/^0+(?=\d)/, '');
  // Beyond 13 digits a Number is no longer exact; far above any allowed amount anyway.
  if (units.length > 13) return { ok: false, problem: 'too_large' };
  const minor = Number(units) * 100 + Number((fraction ?? '').padEnd(2, '0'));
  const max = opts.max ?? MAX_AMOUNT_MINOR;
  if (minor > max) return { ok: false, problem: 'too_large' };
  if (opts.positive && minor === 0) return { ok: false, problem: 'not_positive' };
  return { ok: true, value: minor };
}

/** Minor units as a form's input shows them to be edited: 45050 → "450.50", 45000 → "450". */
export function moneyInput(minor: number | null | undefined): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) return '';
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(minor));
  const units = Math.floor(abs / 100);
  const cents = abs % 100;
  return cents === 0 ? `${sign}${units}` : `${sign}${units}.${String(cents).padStart(2, '0')}`;
}

/** The locale money is shown in: the user's, with Indian grouping (lakh, crore) for rupees. */
export function moneyLocale(currency: string, locale: string = getLocale()): string {
  if (currency !== 'INR') return locale;
  const language = locale.split('-')[0] || 'en';
  const indian = `${language}-IN`;
  try {
    if (Intl.NumberFormat.supportedLocalesOf(indian).length > 0) return indian;
  } catch {
    // not a valid tag
  }
  return 'en-IN';
}

/** `Intl.NumberFormat.format` takes an exact decimal string (ES2023); typed here for ES2022. */
type DecimalFormat = (value: number | bigint | `${number}`) => string;

/**
 * Minor units in the clinic's currency, in the user's locale: 12345678 INR → "₹1,23,456.78",
 * USD → "$123,456.78". Formatted from the exact decimal text (no division by 100).
 */
export function formatMoney(minor: number | null | undefined, currency: string, locale?: string): string {
  const value = minor ?? 0;
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(value));
  const decimal = `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}` as `${number}`;
  const loc = moneyLocale(currency, locale);
  try {
    const nf = numberFormat(
      {
        style: 'currency',
        currency,
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
      },
      loc,
    );
    return (nf.format as DecimalFormat)(decimal);
  } catch {
    return `${currency} ${decimal}`;
  }
}

// ------------------------------------------------------------------ percentages and rates

export type PercentProblem = 'required' | 'invalid' | 'decimals' | 'negative' | 'too_large';

/** "12.5" (%) → 1250 basis points, exactly; 0 to 100% with at most two decimals. */
export function parsePercent(raw: string | null | undefined): Parsed<PercentProblem> {
  const text = (raw ?? '').trim().replace(/%$/, '').trim();
  if (text === '') return { ok: false, problem: 'required' };
  if (/^[-−–]/.test(text)) return { ok: false, problem: 'negative' };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && !m[2]) || m[2] === '') return { ok: false, problem: 'invalid' };
  const fraction = m[2] ?? '';
  if (fraction.length > 2) return { ok: false, problem: 'decimals' };
  const whole = (m[1] ?? '').replace(/^0+(?=\d)/, '') || '0';
  if (whole.length > 3) return { ok: false, problem: 'too_large' };
  const bp = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  if (bp > BASIS_POINTS) return { ok: false, problem: 'too_large' };
  return { ok: true, value: bp };
}

/** Basis points as a form's input shows them: 1250 → "12.5", 1800 → "18", 5 → "0.05". */
export function percentInput(bp: number): string {
  const whole = Math.floor(bp / 100);
  const rest = bp % 100;
  if (rest === 0) return String(whole);
  return `${whole}.${String(rest).padStart(2, '0').replace(/0$/, '')}`;
}

/** Basis points as a percentage in the user's locale: 1800 → "18%", 1250 → "12.5%". */
export function formatRate(bp: number | null | undefined): string {
  const value = bp ?? 0;
  try {
    return numberFormat({ style: 'percent', maximumFractionDigits: 2 }).format(value / BASIS_POINTS);
  } catch {
    return `${percentInput(value)}%`;
  }
}

/** A whole quantity from 1 to the core's most (10,000). */
export function parseQuantity(raw: string | number | null | undefined): Parsed<'required' | 'invalid' | 'out_of_range'> {
  const text = String(raw ?? '').trim();
  if (text === '') return { ok: false, problem: 'required' };
  if (!/^\d+$/.test(text)) return { ok: false, problem: 'invalid' };
  const n = Number(text);
  if (n < 1 || n > BILL_MAX_QUANTITY) return { ok: false, problem: 'out_of_range' };
  return { ok: true, value: n };
}

// ------------------------------------------------------------------ the add-line form

export type DiscountKind = Discount['kind'];

export interface LineForm {
  /** A tariff service, or '' for a charge typed by hand. */
  service_id: string;
  description: string;
  quantity: string;
  /** Empty: the tariff's price. */
  price: string;
  discount_kind: DiscountKind;
  discount: string;
}

export function emptyLineForm(): LineForm {
  return { service_id: '', description: '', quantity: '1', price: '', discount_kind: 'none', discount: '' };
}

/** What a line form needs from the chosen service. */
export interface ServiceFacts {
  price_minor: number | null;
}

export interface LineCheck {
  /** Messages by field: description, quantity, unit_price_minor, discount. */
  problems: Record<string, string>;
  /**
   * The line to send when the form reads well. Its amounts, and whether its discount is
   * allowed, are the core's to say (`previewBillLine`, then `addBillLine`).
   */
  input: {
    service_id: string | null;
    description: string;
    quantity: number;
    unit_price_minor: number | null;
    discount: Discount;
  } | null;
}

/** The words for a money problem ("At most two decimals."). */
export function moneyProblemText(problem: MoneyProblem, currency: string): string {
  return t(`billing.money.${problem}` as MessageKey, { max: formatMoney(MAX_AMOUNT_MINOR, currency) });
}

/** The words for a percentage problem. */
export function percentProblemText(problem: PercentProblem): string {
  return t(`billing.percent.${problem}` as MessageKey);
}

/**
 * Reads a line form before it is sent: the quantity, the price (typed, or the tariff's), the
 * discount as typed. Returns the problems by field and the LineInput; what the line comes to
 * and whether the discount is allowed come from the core's preview.
 */
export function checkLine(form: LineForm, service: ServiceFacts | null, currency: string): LineCheck {
  const problems: Record<string, string> = {};
  const description = form.description.trim().replace(/\s+/g, ' ');
  if (!service && description === '') problems.description = t('validation.bill.description.required');
  if (description.length > BILL_DESCRIPTION_MAX) problems.description = t('validation.bill.description.too_long');

  const qty = parseQuantity(form.quantity);
  if (!qty.ok) problems.quantity = t('validation.bill.quantity.out_of_range');

  let override: number | null = null;
  if (form.price.trim() !== '') {
    const p = parseMoney(form.price);
    if (p.ok) override = p.value;
    else problems.unit_price_minor = moneyProblemText(p.problem, currency);
  } else if (!service || service.price_minor === null) {
    problems.unit_price_minor = t('validation.bill.unit_price_minor.required');
  }

  let discount: Discount = { kind: 'none' };
  if (form.discount_kind === 'amount') {
    const d = parseMoney(form.discount);
    if (d.ok) discount = { kind: 'amount', value: d.value };
    else problems.discount = moneyProblemText(d.problem, currency);
  } else if (form.discount_kind === 'percent') {
    const d = parsePercent(form.discount);
    if (d.ok) discount = { kind: 'percent', value: d.value };
    else problems.discount = percentProblemText(d.problem);
  }

  const ok = Object.keys(problems).length === 0 && qty.ok;
  return {
    problems,
    input: ok
      ? {
          service_id: form.service_id || null,
          description,
          quantity: qty.ok ? qty.value : 0,
          unit_price_minor: override,
          discount,
        }
      : null,
  };
}

/** A discount as the lines table shows it: "10%", "₹50.00", or '' for none. */
export function discountText(discount: Discount, currency: string): string {
  switch (discount.kind) {
    case 'none':
      return '';
    case 'amount':
      return formatMoney(discount.value, currency);
    case 'percent':
      return formatRate(discount.value);
  }
}

// ------------------------------------------------------------------ amounts a dialog starts from

/** What the insurer has approved and not yet paid. */
export function insurerOutstanding(bill: Pick<Bill, 'insurance'>): number {
  const ins = bill.insurance;
  if (!ins) return 0;
  return Math.max(0, (ins.approved_minor ?? 0) - (ins.settled_minor ?? 0));
}

/**
 * The amount a payment starts from: what is due, less what an insurer has approved and not
 * paid yet (that part is the insurer's); the whole due when the insurer would cover it all.
 */
export function defaultPaymentAmount(bill: Pick<Bill, 'due_minor' | 'insurance'>): number {
  const due = Math.max(0, bill.due_minor ?? 0);
  const patientPart = due - insurerOutstanding(bill);
  return patientPart > 0 ? patientPart : due;
}

/** The amount an insurer's settlement starts from: what it approved and has not paid, up to what is due. */
export function defaultSettleAmount(bill: Pick<Bill, 'due_minor' | 'insurance'>): number {
  return Math.max(0, Math.min(insurerOutstanding(bill), bill.due_minor ?? 0));
}

/** What may still be credited on an invoice: its total less earlier credit notes. */
export function creditRoom(bill: Pick<Bill, 'totals' | 'credited_minor'>): number {
  return Math.max(0, (bill.totals.total ?? 0) - (bill.credited_minor ?? 0));
}

/**
 * Checks an amount typed into a payment, refund, credit note or settlement against the most it
 * may be; returns the message, or null when it is fine.
 */
export function amountProblem(raw: string, most: number | null, mostKey: MessageKey, currency: string): string | null {
  const p = parseMoney(raw, { positive: true });
  if (!p.ok) return moneyProblemText(p.problem, currency);
  if (most !== null && p.value > most) return t(mostKey, { amount: formatMoney(most, currency) });
  return null;
}

// ------------------------------------------------------------------ words

export type BadgeKind = 'success' | 'warning' | 'danger' | 'neutral' | 'info';

/** The badge of where a bill's money stands (a draft is "Draft"). */
export function paymentStatusBadge(status: PaymentStatus): { kind: BadgeKind; label: string } {
  const kinds: Record<PaymentStatus, BadgeKind> = {
    open: 'info',
    unpaid: 'danger',
    partly_paid: 'warning',
    paid: 'success',
    cancelled: 'neutral',
    refunded: 'neutral',
  };
  return { kind: kinds[status] ?? 'neutral', label: label('billing.status', status) };
}

function label(prefix: string, code: string): string {
  const key = `${prefix}.${code}`;
  return hasMessage(key) ? t(key) : code;
}

export function modeLabel(mode: PaymentMode): string {
  return label('billing.mode', mode);
}

export function categoryLabel(category: string): string {
  return label('tariff.category', category);
}

export function billStatusLabel(status: BillStatus): string {
  return label('billing.billStatus', status);
}

export function filterLabel(filter: 'all' | BillStatus): string {
  return label('billing.filter', filter);
}

export function paymentKindLabel(kind: string): string {
  return label('billing.kind', kind);
}

// ------------------------------------------------------------------ errors

/**
 * The message for a rejected field, most specific wording first:
 * `validation.<scope>.<field>.<reason>` for each scope (`bill.cancel`, then `bill`), then the
 * app-wide wording.
 */
export function billingMessage(scopes: readonly string[], field: string, reason: ValidationReason): string {
  for (const scope of scopes) {
    const key = `validation.${scope}.${field}.${reason}`;
    if (hasMessage(key)) return t(key);
  }
  return validationMessage(field, reason);
}

/**
 * Splits an error for a billing form: a message next to each field the form shows, and one
 * form-level message for anything else.
 */
export function billingErrors(
  scopes: readonly string[],
  e: AppError,
  shows: readonly string[],
): { fields: Record<string, string>; form: string | null } {
  if (e.code !== 'validation') return { fields: {}, form: errorMessage(e) };
  const message = billingMessage(scopes, e.detail.field, e.detail.reason);
  if (shows.includes(e.detail.field)) return { fields: { [e.detail.field]: message }, form: null };
  return { fields: {}, form: message };
}

/** Whether an error means the bill changed under us (finalized, cancelled, paid elsewhere): reload it. */
export function billChanged(e: AppError): boolean {
  return (e.code === 'validation' && e.detail.field === 'bill_id') || e.code === 'not_found';
}

// ------------------------------------------------------------------ dates

/** Today in the clinic's time zone, YYYY-MM-DD. */
export function todayIso(now: Date = new Date()): string {
  return clinicDay(now);
}

/** The price of a service on a day from its history (the newest that took effect by then). */
export function priceOn(prices: readonly { effective_from: string; price_minor: number | null }[], day: string): number | null {
  let found: number | null = null;
  for (const p of [...prices].sort((a, b) => a.effective_from.localeCompare(b.effective_from))) {
    if (p.effective_from <= day) found = p.price_minor;
  }
  return found;
}

/** The first price still to come after `day`, if one is set. */
export function nextPrice<P extends { effective_from: string }>(prices: readonly P[], day: string): P | null {
  let found: P | null = null;
  for (const p of prices) {
    if (p.effective_from > day && (found === null || p.effective_from < found.effective_from)) found = p;
  }
  return found;
}
