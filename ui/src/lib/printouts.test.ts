import { describe, expect, it } from 'vitest';
import { setLocale } from './i18n';
import { printedBy, printoutLabel, printoutsState, toastPrinted } from './printouts.svelte';
import { toasts } from './toast.svelte';

setLocale('en');

describe('printouts', () => {
  it('names each kind of printout with its number where it has one', () => {
    expect(printoutLabel({ kind: 'invoice', reference: 'INV-2026-0001' })).toBe('Invoice INV-2026-0001');
    expect(printoutLabel({ kind: 'invoice', reference: 'pro-forma' })).toBe('Pro-forma invoice');
    expect(printoutLabel({ kind: 'receipt', reference: 'R-0007' })).toBe('Receipt R-0007');
    expect(printoutLabel({ kind: 'lab_report', reference: 'requisition' })).toBe('Lab requisition');
    expect(printoutLabel({ kind: 'lab_report', reference: 'report' })).toBe('Lab report');
    expect(printoutLabel({ kind: 'id_card', reference: 'AB-000001' })).toBe('ID card');
    expect(printoutLabel({ kind: 'prescription', reference: '' })).toBe('Prescription');
    expect(printoutLabel({ kind: 'visit_summary', reference: '' })).toBe('Visit summary');
  });

  it('says who printed it, or that the account is not on this device', () => {
    expect(printedBy({ printed_by_name: 'Asha Menon' })).toBe('by Asha Menon');
    expect(printedBy({ printed_by_name: '' })).toBe('by an account not on this device');
  });

  it('after a print, the lists load again and the toast offers Open folder', () => {
    toasts.clear();
    const before = printoutsState.version;
    toastPrinted('Saved /home/desk/Downloads/HMS/invoice-INV-1.pdf.');
    expect(printoutsState.version).toBe(before + 1);
    expect(toasts.items).toHaveLength(1);
    expect(toasts.items[0]?.kind).toBe('success');
    expect(toasts.items[0]?.action?.label).toBe('Open folder');
    toasts.clear();
  });
});
