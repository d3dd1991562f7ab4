import { describe, expect, it } from 'vitest';
import { STOCK_QUANTITY_MAX, type PassedReason, type StockStore } from './bindings';
import {
  ADJUST_REASONS,
  daysLeftText,
  defaultStore,
  emptyReceiptLine,
  expiryTone,
  itemName,
  lineField,
  parseUnits,
  passedReasonLabel,
  receiptFields,
  receiptLine,
  signedNumber,
  STORE_KINDS,
  storeKindLabel,
  adjustReasonLabel,
} from './pharmacy';

const store = (id: string, kind: StockStore['kind'], active = true): StockStore => ({ id, name: id, kind, active });

describe('pharmacy', () => {
  it('words every reason the allocator passes a batch over, every store kind and adjustment', () => {
    const reasons: PassedReason[] = ['expired', 'on_hold', 'expires_before_course_ends', 'not_in_this_store', 'empty'];
    for (const r of reasons) expect(passedReasonLabel(r)).not.toContain('pharmacy.');
    expect(passedReasonLabel('expires_before_course_ends')).toBe('Expires before the course ends');
    for (const k of STORE_KINDS) expect(storeKindLabel(k)).not.toContain('pharmacy.');
    for (const r of ADJUST_REASONS) expect(adjustReasonLabel(r)).not.toContain('pharmacy.');
  });

  it('works in the first open pharmacy counter, else the first open store', () => {
    expect(defaultStore([store('main', 'main'), store('closed', 'pharmacy', false), store('counter', 'pharmacy')])).toBe('counter');
    expect(defaultStore([store('lab', 'lab'), store('main', 'main')])).toBe('lab');
    expect(defaultStore([store('lab', 'lab'), store('main', 'main')], 'main')).toBe('main');
    expect(defaultStore([])).toBe('');
  });

  it('reads whole units: zero and a minus only where allowed, never past the core limit', () => {
    expect(parseUnits(' 12 ')).toEqual({ ok: true, value: 12 });
    expect(parseUnits('')).toEqual({ ok: false, problem: 'required' });
    expect(parseUnits('', { emptyIs: 0 })).toEqual({ ok: true, value: 0 });
    expect(parseUnits('0')).toEqual({ ok: false, problem: 'out_of_range' });
    expect(parseUnits('0', { zero: true })).toEqual({ ok: true, value: 0 });
    expect(parseUnits('-3')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseUnits('−3', { signed: true })).toEqual({ ok: true, value: -3 });
    expect(parseUnits('2.5')).toEqual({ ok: false, problem: 'invalid' });
    expect(parseUnits(String(STOCK_QUANTITY_MAX + 1))).toEqual({ ok: false, problem: 'out_of_range' });
  });

  it('turns a delivery line into the core input, money in minor units, or names its fields', () => {
    const line = { ...emptyReceiptLine(), item_id: 'i1', batch_no: ' AMX-1 ', expiry: '2027-06-30', packs: '3', units: '5', pack_cost: '30.50' };
    expect(receiptLine(line, 0)).toEqual({
      ok: true,
      value: { item_id: 'i1', batch_no: 'AMX-1', expiry: '2027-06-30', packs: 3, units: 5, free_units: 0, pack_cost_minor: 3050, sale_price_minor: null },
    });
    const bad = receiptLine({ ...line, item_id: '', packs: 'x', sale_price: '1.234' }, 2);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(['lines.2.item_id', 'lines.2.packs', 'lines.2.sale_price_minor']);
    expect(receiptFields(2)).toContain('lines.1.expiry');
  });

  it('signs a stock take variance', () => {
    expect(signedNumber(4)).toBe('+4');
    expect(signedNumber(-1)).toBe('−1');
    expect(signedNumber(0)).toBe('0');
  });

  it('shows expiry by how near it is', () => {
    expect(expiryTone(-1)).toBe('expired');
    expect(expiryTone(30)).toBe('soon');
    expect(expiryTone(31)).toBe('later');
    expect(daysLeftText(0)).toBe('Expires today');
    expect(daysLeftText(-1)).toBe('Expired 1 day ago');
    expect(daysLeftText(12)).toBe('12 days');
  });

  it('names items and line fields', () => {
    expect(itemName({ generic_name: 'Amoxicillin', strength: '500 mg', form: 'capsule' })).toBe('Amoxicillin 500 mg capsule');
    expect(itemName({ generic_name: 'Reagent', strength: '', form: ' ' })).toBe('Reagent');
    expect(lineField('lines.0.quantity')).toBe('quantity');
    expect(lineField('store_id')).toBe('store_id');
  });
});
