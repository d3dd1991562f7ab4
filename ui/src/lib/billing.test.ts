import { describe, expect, it } from 'vitest';
import { BILL_DESCRIPTION_MAX, type Area, type Bill } from './bindings';
import { en } from './locales/en';
import { setLocale } from './i18n';
import { visibleAreas } from './roles';
import {
  billChanged,
  billingErrors,
  billingMessage,
  checkLine,
  creditRoom,
  defaultPaymentAmount,
  defaultSettleAmount,
  emptyLineForm,
  formatMoney,
  formatRate,
  moneyInput,
  moneyLocale,
  nextPrice,
  parseMoney,
  parsePercent,
  parseQuantity,
  paymentStatusBadge,
  percentInput,
  priceOn,
  todayIso,
  amountProblem,
  type LineForm,
} from './billing';


function bill(patch: Partial<Bill> = {}): Bill {
  return {
    id: 'b1',
    patient_id: 'p1',
    patient_name: 'Ravi Kumar Sharma',
    mrn: 'K7Q2-000123',
    status: 'draft',
    payment_status: 'open',
    number: null,
    currency: 'INR',
    created_at: '2026-03-04T10:00:00Z',
    finalized_at: null,
    lines: [],
    totals: { subtotal: 0, discount: 0, taxable: 0, tax: 0, total: 0, taxes: [] },
    payments: [],
    credit_notes: [],
    insurance: null,
    paid_minor: 0,
    credited_minor: 0,
    due_minor: 0,
    patient_share_minor: 0,
    cancel_reason: '',
    actions: {
      add_line: false,
      remove_line: false,
      finalize: false,
      pay: false,
      advance: false,
      refund: false,
      credit_note: false,
      cancel: false,
      cancel_needs_refund: false,
      insurance: false,
      settle: false,
      print_invoice: false,
      print_receipt: false,
    },
    ...patch,
  };
}

const LINE = {
  id: 'l1',
  position: 1,
  service_id: 's1',
  description: 'Consultation',
  category: 'consultation' as const,
  quantity: 1,
  unit_price_minor: 50000,
  discount: { kind: 'none' as const },
  tax_rate_bp: 0,
  source: 'manual',
  amounts: { gross: 50000, discount: 0, taxable: 50000, tax: 0, total: 50000 },
};

function finalBill(total: number, patch: Partial<Bill> = {}): Bill {
  return bill({
    status: 'final',
    payment_status: 'unpaid',
    number: 'INV-K7Q2-000001',
    lines: [LINE],
    totals: { subtotal: total, discount: 0, taxable: total, tax: 0, total, taxes: [] },
    due_minor: total,
    patient_share_minor: total,
    ...patch,
  });
}

describe('parseMoney', () => {
  it('reads typed amounts exactly, as minor units', () => {
    expect(parseMoney('450')).toEqual({ ok: true, value: 45000 });
    expect(parseMoney('450.5')).toEqual({ ok: true, value: 45050 });
    expect(parseMoney('450.50')).toEqual({ ok: true, value: 45050 });
    expect(parseMoney(' 1,234.50 ')).toEqual({ ok: true, value: 123450 });
    expect(parseMoney('12,34,567.89')).toEqual({ ok: true, value: 123456789 });
    expect(parseMoney('1,234,567')).toEqual({ ok: true, value: 123456700 });
    expect(parseMoney('0.07')).toEqual({ ok: true, value: 7 });
    expect(parseMoney('.5')).toEqual({ ok: true, value: 50 });
    expect(parseMoney('0')).toEqual({ ok: true, value: 0 });
    expect(parseMoney('007')).toEqual({ ok: true, value: 700 });
  });

  it('is exact where float arithmetic is not', () => {
    // 0.29 × 100 = 28.999999999999996 and 1.005 × 100 = 100.49999999999999 in floats.
    expect(parseMoney('0.29')).toEqual({ ok: true, value: 29 });
    expect(parseMoney('4.35')).toEqual({ ok: true, value: 435 });
    expect(parseMoney('1,00,00,000.00')).toEqual({ ok: true, value: 1_000_000_000 });
  });

  it('refuses bad input with the reason', () => {
    expect(parseMoney('')).toEqual({ ok: false, problem: 'required' });
    expect(parseMoney('   ')).toEqual({ ok: false, problem: 'required' });
    expect(parseMoney(null)).toEqual({ ok: false, problem: 'required' });
    expect(parseMoney('12.345')).toEqual({ ok: false, problem: 'decimals' });
    expect(parseMoney('-5')).toEqual({ ok: false, problem: 'negative' });
    expect(parseMoney('−5')).toEqual({ ok: false, problem: 'negative' });
    expect(parseMoney('abc')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseMoney('12a')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseMoney('1e3')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseMoney('+5')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseMoney('12.')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseMoney('.')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseMoney('1.2.3')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseMoney('₹500')).toEqual({ ok: false, problem: 'invalid' });
  });

  it('refuses commas in places that could mean a decimal comma', () => {
    expect(parseMoney('12,50').ok).toBe(false);
    expect(parseMoney('1,2345').ok).toBe(false);
    expect(parseMoney(',500').ok).toBe(false);
    expect(parseMoney('500,').ok).toBe(false);
    expect(parseMoney('1,,000').ok).toBe(false);
  });

  it('refuses zero when a positive amount is needed, and amounts above the most', () => {
    expect(parseMoney('0', { positive: true })).toEqual({ ok: false, problem: 'not_positive' });
    expect(parseMoney('0.00', { positive: true })).toEqual({ ok: false, problem: 'not_positive' });
    expect(parseMoney('10000000.01')).toEqual({ ok: false, problem: 'too_large' });
    expect(parseMoney('99999999999999999999')).toEqual({ ok: false, problem: 'too_large' });
    expect(parseMoney('50', { max: 4999 })).toEqual({ ok: false, problem: 'too_large' });
  });

  it('round-trips through the form input text', () => {
    for (const minor of [0, 5, 50, 100, 45050, 123450, 1_000_000_000]) {
      expect(parseMoney(moneyInput(minor))).toEqual({ ok: true, value: minor });
    }
    expect(moneyInput(45000)).toBe('450');
    expect(moneyInput(45005)).toBe('450.05');
    expect(moneyInput(null)).toBe('');
  });
});

describe('formatMoney', () => {
  it('uses Indian grouping for rupees, whatever the locale', () => {
    expect(formatMoney(12345678, 'INR')).toBe('₹1,23,456.78');
    expect(formatMoney(1_000_000_000, 'INR')).toBe('₹1,00,00,000.00');
    expect(formatMoney(45050, 'INR')).toBe('₹450.50');
    expect(moneyLocale('INR', 'en-US')).toBe('en-IN');
    expect(moneyLocale('USD', 'en-US')).toBe('en-US');
  });

  it('formats other currencies in the user’s locale', () => {
    expect(formatMoney(12345678, 'USD')).toBe('$123,456.78');
    expect(formatMoney(5, 'GBP')).toBe('£0.05');
    setLocale('de-DE');
    expect(formatMoney(12345678, 'EUR')).toBe('123.456,78\u00a0€');
  });

  it('shows negatives, zero and missing amounts', () => {
    expect(formatMoney(-5050, 'INR')).toBe('-₹50.50');
    expect(formatMoney(0, 'INR')).toBe('₹0.00');
    expect(formatMoney(null, 'INR')).toBe('₹0.00');
  });

  it('is exact for large amounts', () => {
    expect(formatMoney(123456789012345, 'USD')).toBe('$1,234,567,890,123.45');
  });
});

describe('percentages and basis points', () => {
  it('reads a percentage as basis points exactly', () => {
    expect(parsePercent('18')).toEqual({ ok: true, value: 1800 });
    expect(parsePercent('12.5')).toEqual({ ok: true, value: 1250 });
    expect(parsePercent('0.05')).toEqual({ ok: true, value: 5 });
    expect(parsePercent('100')).toEqual({ ok: true, value: 10000 });
    expect(parsePercent('10 %')).toEqual({ ok: true, value: 1000 });
    expect(parsePercent('0')).toEqual({ ok: true, value: 0 });
  });

  it('refuses what is not a percentage from 0 to 100', () => {
    expect(parsePercent('')).toEqual({ ok: false, problem: 'required' });
    expect(parsePercent('100.01')).toEqual({ ok: false, problem: 'too_large' });
    expect(parsePercent('250')).toEqual({ ok: false, problem: 'too_large' });
    expect(parsePercent('-1')).toEqual({ ok: false, problem: 'negative' });
    expect(parsePercent('12.345')).toEqual({ ok: false, problem: 'decimals' });
    expect(parsePercent('ten')).toEqual({ ok: false, problem: 'invalid' });
    expect(parsePercent('1.')).toEqual({ ok: false, problem: 'invalid' });
  });

  it('writes basis points back as a percentage', () => {
    expect(percentInput(1800)).toBe('18');
    expect(percentInput(1250)).toBe('12.5');
    expect(percentInput(5)).toBe('0.05');
    expect(percentInput(10)).toBe('0.1');
    for (const bp of [0, 1, 99, 500, 1200, 1234, 10000]) {
      expect(parsePercent(percentInput(bp))).toEqual({ ok: true, value: bp });
    }
    expect(formatRate(1800)).toBe('18%');
    expect(formatRate(1250)).toBe('12.5%');
    expect(formatRate(0)).toBe('0%');
  });

  it('reads quantities as whole numbers from 1 to 10,000', () => {
    expect(parseQuantity('3')).toEqual({ ok: true, value: 3 });
    expect(parseQuantity(' 10000 ')).toEqual({ ok: true, value: 10000 });
    expect(parseQuantity('0').ok).toBe(false);
    expect(parseQuantity('10001').ok).toBe(false);
    expect(parseQuantity('1.5').ok).toBe(false);
    expect(parseQuantity('-1').ok).toBe(false);
    expect(parseQuantity('').ok).toBe(false);
  });
});

describe('checkLine', () => {
  const service = { price_minor: 50000 };
  const form = (patch: Partial<LineForm>): LineForm => ({ ...emptyLineForm(), service_id: 's1', ...patch });

  it('builds the line from the tariff price', () => {
    const c = checkLine(form({ quantity: '2' }), service, 'INR');
    expect(c.problems).toEqual({});
    expect(c.input).toEqual({ service_id: 's1', description: '', quantity: 2, unit_price_minor: null, discount: { kind: 'none' } });
  });

  it('sends a typed price and discount exactly', () => {
    const c = checkLine(form({ price: '450.50', discount_kind: 'percent', discount: '10' }), service, 'INR');
    expect(c.input?.unit_price_minor).toBe(45050);
    expect(c.input?.discount).toEqual({ kind: 'percent', value: 1000 });
    const a = checkLine(form({ discount_kind: 'amount', discount: '50' }), service, 'INR');
    expect(a.input?.discount).toEqual({ kind: 'amount', value: 5000 });
  });

  it('leaves a discount’s limit to the core: it reads the discount, the preview judges it', () => {
    const c = checkLine(form({ discount_kind: 'percent', discount: '15' }), service, 'INR');
    expect(c.problems).toEqual({});
    expect(c.input?.discount).toEqual({ kind: 'percent', value: 1500 });
    expect(checkLine(form({ discount_kind: 'percent', discount: '101' }), service, 'INR').problems.discount).toBe(
      en['billing.percent.too_large'],
    );
  });

  it('refuses a description longer than the core takes', () => {
    const long = checkLine({ ...emptyLineForm(), description: 'x'.repeat(BILL_DESCRIPTION_MAX + 1), price: '1' }, null, 'INR');
    expect(long.problems.description).toBe(en['validation.bill.description.too_long']);
    const most = checkLine({ ...emptyLineForm(), description: 'x'.repeat(BILL_DESCRIPTION_MAX), price: '1' }, null, 'INR');
    expect(most.problems).toEqual({});
  });

  it('finds the problems of a charge typed by hand', () => {
    const c = checkLine({ ...emptyLineForm(), quantity: '0', price: '12.345' }, null, 'INR');
    expect(Object.keys(c.problems).sort()).toEqual(['description', 'quantity', 'unit_price_minor']);
    expect(c.problems.unit_price_minor).toBe(en['billing.money.decimals']);
    const none = checkLine({ ...emptyLineForm(), description: 'Dressing' }, null, 'INR');
    expect(none.problems.unit_price_minor).toBe(en['validation.bill.unit_price_minor.required']);
    const ok = checkLine({ ...emptyLineForm(), description: '  Dressing   kit ', price: '120' }, null, 'INR');
    expect(ok.input).toEqual({ service_id: null, description: 'Dressing kit', quantity: 1, unit_price_minor: 12000, discount: { kind: 'none' } });
  });

  it('asks for a price when the service has none yet', () => {
    const c = checkLine(form({}), { price_minor: null }, 'INR');
    expect(c.problems.unit_price_minor).toBe(en['validation.bill.unit_price_minor.required']);
  });
});

describe('default amounts', () => {
  it('starts a payment at what is due', () => {
    expect(defaultPaymentAmount(finalBill(50000))).toBe(50000);
    expect(defaultPaymentAmount(finalBill(50000, { due_minor: 12345 }))).toBe(12345);
    expect(defaultPaymentAmount(finalBill(50000, { due_minor: -100 }))).toBe(0);
  });

  it('leaves what the insurer approved to the insurer', () => {
    const ins = { payer: 'Star Health', policy_no: '', preauth_no: '', claimed_minor: 40000, approved_minor: 30000, settled_minor: 10000 };
    const b = finalBill(50000, { insurance: ins, due_minor: 40000 });
    expect(defaultPaymentAmount(b)).toBe(20000);
    expect(defaultSettleAmount(b)).toBe(20000);
    // When the insurer would cover all that is due, the whole due is offered.
    expect(defaultPaymentAmount(finalBill(50000, { insurance: { ...ins, approved_minor: 50000, settled_minor: 0 } }))).toBe(50000);
  });

  it('knows what a credit note may still take', () => {
    expect(creditRoom(finalBill(50000, { credited_minor: 20000 }))).toBe(30000);
  });

  it('checks an amount against the most it may be', () => {
    expect(amountProblem('300', 50000, 'billing.pay.aboveDue', 'INR')).toBeNull();
    expect(amountProblem('500.01', 50000, 'billing.pay.aboveDue', 'INR')).toBe(
      en['billing.pay.aboveDue'].replace('{amount}', '₹500.00'),
    );
    expect(amountProblem('0', 50000, 'billing.pay.aboveDue', 'INR')).toBe(en['billing.money.not_positive']);
    expect(amountProblem('1', null, 'billing.pay.aboveDue', 'INR')).toBeNull();
  });
});

describe('words and errors', () => {
  it('labels every payment status', () => {
    for (const s of ['open', 'unpaid', 'partly_paid', 'paid', 'cancelled', 'refunded'] as const) {
      expect(paymentStatusBadge(s).label).toBe(en[`billing.status.${s}`]);
    }
    expect(paymentStatusBadge('paid').kind).toBe('success');
    expect(paymentStatusBadge('unpaid').kind).toBe('danger');
  });

  it('words an error by the most specific scope first', () => {
    expect(billingMessage(['bill.cancel', 'bill'], 'bill_id', 'invalid')).toBe(en['validation.bill.cancel.bill_id.invalid']);
    expect(billingMessage(['bill.line', 'bill'], 'discount', 'out_of_range')).toBe(en['validation.bill.discount.out_of_range']);
    expect(billingMessage(['bill.line', 'bill'], 'nothing', 'required')).toBe(en['validation.required']);
  });

  it('splits an error between a field and the form', () => {
    const e = { code: 'validation', detail: { field: 'amount_minor', reason: 'out_of_range', message: '' } } as const;
    expect(billingErrors(['bill.refund', 'bill'], e, ['amount_minor'])).toEqual({
      fields: { amount_minor: en['validation.bill.refund.amount_minor.out_of_range'] },
      form: null,
    });
    expect(billingErrors(['bill.refund', 'bill'], e, []).form).toBe(en['validation.bill.refund.amount_minor.out_of_range']);
    expect(billingErrors(['bill'], { code: 'forbidden', detail: { permission: 'billing_refund' } }, []).form).toBe(en['errors.forbidden']);
    expect(billChanged({ code: 'validation', detail: { field: 'bill_id', reason: 'invalid', message: '' } })).toBe(true);
    expect(billChanged(e)).toBe(false);
  });
});

describe('tariff prices', () => {
  const prices = [
    { effective_from: '2026-01-01', price_minor: 40000 },
    { effective_from: '2026-04-01', price_minor: 50000 },
    { effective_from: '2026-03-01', price_minor: 45000 },
  ];

  it('finds the price in force on a day and the next one to come', () => {
    expect(priceOn(prices, '2025-12-31')).toBeNull();
    expect(priceOn(prices, '2026-03-04')).toBe(45000);
    expect(priceOn(prices, '2026-04-01')).toBe(50000);
    expect(nextPrice(prices, '2026-03-04')?.price_minor).toBe(50000);
    expect(nextPrice(prices, '2026-04-01')).toBeNull();
  });

  it('writes today as YYYY-MM-DD', () => {
    expect(todayIso(new Date(2026, 2, 4, 23, 59))).toBe('2026-03-04');
  });
});

describe('navigation', () => {
  it('offers billing and tariff after appointments and staff', () => {
    const areas = ['settings', 'tariff', 'billing', 'staff', 'appointments', 'patients', 'users'] as Area[];
    expect(visibleAreas(areas).map((a) => a.area)).toEqual(['patients', 'appointments', 'staff', 'billing', 'tariff', 'users', 'settings']);
  });

  it('has words for every billing audit action', () => {
    const actions = [
      'bill.open', 'bill.line_add', 'bill.line_remove', 'bill.finalize', 'bill.cancel', 'bill.payment', 'bill.advance',
      'bill.refund', 'bill.credit_note', 'bill.insurance', 'bill.charge', 'bill.print', 'bill.receipt_print', 'bill.view',
      'service.create', 'service.price', 'service.active', 'billing.settings',
    ];
    for (const a of actions) expect((en as Record<string, string>)[`audit.act.${a}`], a).toBeTruthy();
  });
});

describe('billingNav', () => {
  it('hands a request to the Billing screen once', async () => {
    const { billingNav } = await import('./billingNav.svelte');
    expect(billingNav.take()).toBeNull();
    billingNav.openPatientBill('p1');
    expect(billingNav.pending).toEqual({ kind: 'patient', patientId: 'p1' });
    expect(billingNav.take()).toEqual({ kind: 'patient', patientId: 'p1' });
    expect(billingNav.take()).toBeNull();
    billingNav.openBill('b9');
    expect(billingNav.take()).toEqual({ kind: 'bill', billId: 'b9' });
  });
});
