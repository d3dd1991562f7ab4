import { describe, expect, it } from 'vitest';
import type { AppError, Column, Report } from './bindings';
import { setLocale } from './i18n';
import { BY_DOCTOR, chartSpec, CHART_MAX_ROWS, columnLabel, formatCell, heatMap, rangeInput, reportErrors, shade } from './reports';
import { visibleAreas } from './roles';

const col = (key: string, kind: Column['kind'], title = key): Column => ({ key, title, kind });

function report(patch: Partial<Report> = {}): Report {
  return {
    report: 'revenue_by_service',
    title: 'Revenue by service',
    counts: 'Lines of finalised invoices',
    from: '2026-03-01',
    to: '2026-03-31',
    currency: 'INR',
    doctor_scope: null,
    table: {
      columns: [col('service', 'text'), col('code', 'text'), col('quantity', 'count'), col('total', 'money')],
      rows: [
        ['Chest X-ray', 'XR', 2, 159406],
        ['Consultation', 'CONSULT', 2, 95000],
      ],
      totals: ['Total', '', 4, 254406],
      figures: [],
    },
    ...patch,
  };
}

describe('reports', () => {
  it('sends dates only for a custom range', () => {
    expect(rangeInput('this_month', '2026-03-01', '2026-03-31')).toEqual({ preset: 'this_month', from: null, to: null });
    expect(rangeInput('custom', '2026-03-01', '2026-03-31')).toEqual({ preset: 'custom', from: '2026-03-01', to: '2026-03-31' });
  });

  it('words cells by their column kind', () => {
    setLocale('en-IN');
    expect(formatCell(col('total', 'money'), 159406, 'INR')).toBe('₹1,594.06');
    expect(formatCell(col('no_show_rate', 'percent'), 1429, 'INR')).toBe('14.29%');
    expect(formatCell(col('wait_median', 'minutes'), 10, 'INR')).toBe('10 min');
    expect(formatCell(col('booked', 'count'), 123456, 'INR')).toBe('1,23,456');
    expect(formatCell(col('wait_p90', 'minutes'), null, 'INR')).toBe('');
    expect(formatCell(col('mode', 'text'), 'bank_transfer', 'INR')).toBe('Bank transfer');
    expect(formatCell(col('service', 'text'), 'Total', 'INR')).toBe('Total');
  });

  it('labels columns in the UI words, else the core title', () => {
    expect(columnLabel(col('no_show_rate', 'percent', 'x'))).toBe('No-show rate');
    expect(columnLabel(col('brand_new', 'count', 'Brand new'))).toBe('Brand new');
  });

  it('charts money in currency units, the largest rows, and nothing for a table-only report', () => {
    const spec = chartSpec(report());
    expect(spec).toEqual({
      type: 'bar',
      money: true,
      labels: ['Chest X-ray', 'Consultation'],
      series: [{ key: 'total', label: 'Total', data: [1594.06, 950] }],
    });
    const many = report({
      table: { ...report().table, rows: Array.from({ length: 40 }, (_, i) => [`S${i}`, '', 1, 100 * (40 - i)]) },
    });
    expect(chartSpec(many)?.labels).toHaveLength(CHART_MAX_ROWS);
    expect(chartSpec(report({ report: 'patients_new_returning' }))).toBeNull();
    expect(chartSpec(report({ table: { ...report().table, rows: [] } }))).toBeNull();
  });

  it('charts receivables by age band and claims by insurer, the largest first', () => {
    const ageing = report({
      report: 'receivables_ageing',
      table: {
        columns: [
          col('patient', 'text'),
          col('mrn', 'text'),
          col('invoices', 'count'),
          col('days_0_30', 'money'),
          col('days_31_60', 'money'),
          col('days_61_90', 'money'),
          col('days_over_90', 'money'),
          col('owed', 'money'),
        ],
        rows: [
          ['Asha Rao', 'MRN-A', 3, 100000, 30000, 0, 30000, 160000],
          ['Bala Nair', 'MRN-B', 2, 60000, 0, 25000, 0, 85000],
        ],
        totals: ['Total', '', 5, 160000, 30000, 25000, 30000, 245000],
        figures: [],
      },
    });
    const spec = chartSpec(ageing);
    expect(spec?.labels).toEqual(['Asha Rao', 'Bala Nair']);
    expect(spec?.series.map((s) => [s.label, s.data])).toEqual([
      ['0–30 days', [1000, 600]],
      ['31–60 days', [300, 0]],
      ['61–90 days', [0, 250]],
      ['Over 90 days', [300, 0]],
    ]);
    const claims = report({
      report: 'insurance_by_insurer',
      table: {
        columns: [col('insurer', 'text'), col('claimed', 'money'), col('approved', 'money'), col('settled', 'money')],
        rows: [['Star Health', 90000, 50000, 20000]],
        totals: null,
        figures: [],
      },
    });
    expect(chartSpec(claims)?.series.map((s) => s.key)).toEqual(['claimed', 'approved', 'settled']);
  });

  it('draws registrations as a line over every period', () => {
    const reg = report({
      report: 'patients_registrations',
      table: {
        columns: [col('period', 'text'), col('registered', 'count')],
        rows: Array.from({ length: 31 }, (_, i) => [`2026-03-${String(i + 1).padStart(2, '0')}`, i % 3]),
        totals: null,
        figures: [],
      },
    });
    const spec = chartSpec(reg);
    expect(spec?.type).toBe('line');
    expect(spec?.labels).toHaveLength(31);
    expect(spec?.money).toBe(false);
  });

  it('reads the busiest hours as a weekday × hour grid shaded against the busiest cell', () => {
    const r = report({
      report: 'appointments_busiest_hours',
      table: {
        columns: [col('weekday', 'text'), col('h08', 'count', '08:00'), col('h09', 'count', '09:00'), col('total', 'count')],
        rows: [
          ['Monday', 1, 4, 5],
          ['Tuesday', 0, 2, 2],
        ],
        totals: ['Total', 1, 6, 7],
        figures: [],
      },
    });
    expect(heatMap(r)).toEqual({
      hours: ['08:00', '09:00'],
      rows: [
        { label: 'Monday', counts: [1, 4] },
        { label: 'Tuesday', counts: [0, 2] },
      ],
      max: 4,
    });
    expect(shade(2, 4)).toBe(0.5);
    expect(shade(0, 0)).toBe(0);
    expect(heatMap(report())).toBeNull();
    expect(chartSpec(r)).toBeNull();
  });

  it('offers the doctor and department filters where they apply, and words adjustments', () => {
    setLocale('en-IN');
    expect(BY_DOCTOR).toContain('doctor_performance');
    expect(BY_DOCTOR).toContain('morbidity_by_code');
    expect(BY_DOCTOR).not.toContain('revenue_adjustments');
    expect(formatCell(col('kind', 'text'), 'credit_note', 'INR')).toBe('Credit notes');
    expect(formatCell(col('detail', 'text'), 'cash', 'INR')).toBe('Cash');
    expect(formatCell(col('consult_avg', 'minutes'), 10, 'INR')).toBe('10 min');
  });

  it('puts range and filter errors next to their field', () => {
    const e = (field: string, reason: 'out_of_range' | 'invalid'): AppError =>
      ({ code: 'validation', detail: { field, reason, message: '' } }) as AppError;
    expect(reportErrors(e('to', 'out_of_range')).fields.to).toBe(
      'The end must be on or after the start, and at most 5 years after it.',
    );
    expect(reportErrors(e('doctor_id', 'invalid')).fields.doctor_id).toBe('This doctor is not known on this device.');
    const forbidden = { code: 'forbidden', detail: { permission: 'reports_finance' } } as unknown as AppError;
    expect(reportErrors(forbidden).form).toBeTruthy();
  });

  it('offers the Reports area when the session has it', () => {
    expect(visibleAreas(['reports', 'billing']).map((a) => a.area)).toEqual(['billing', 'reports']);
  });
});
