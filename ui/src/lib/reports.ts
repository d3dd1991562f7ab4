// The Reports area: the range picker's presets, cells in words by their column's kind, which
// columns a report charts, and errors by field. The figures come from hms-core
// (`hms_core::reports`); nothing here recomputes them.

import type { AppError, Cell, Column, Preset, RangeInput, Report, ReportId, Table } from './bindings';
import { billingErrors, formatMoney } from './billing';
import { formatNumber, hasMessage, t, type MessageKey } from './i18n';

export const PRESETS: readonly Preset[] = ['today', 'this_week', 'this_month', 'last_month', 'custom'];

export function presetLabel(p: Preset): string {
  return t(`reports.preset.${p}` as MessageKey);
}

export function reportLabel(r: ReportId): string {
  return t(`reports.report.${r}` as MessageKey);
}

/** A column's header: the UI's wording of its key, else the core's English title. */
export function columnLabel(c: Column): string {
  const key = `reports.col.${c.key}`;
  return hasMessage(key) ? t(key) : c.title;
}

/** What the UI sends: a preset, or (custom) the two dates. */
export function rangeInput(preset: Preset, from: string, to: string): RangeInput {
  return preset === 'custom' ? { preset, from, to } : { preset, from: null, to: null };
}

/** A cell in words for a column of `kind`. Payment modes read as the billing screens word them. */
export function formatCell(column: Column, cell: Cell, currency: string): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'string') {
    if ((column.key === 'mode' || column.key === 'detail') && hasMessage(`billing.mode.${cell}`)) return t(`billing.mode.${cell}` as MessageKey);
    if (column.key === 'kind' && hasMessage(`reports.kind.${cell}`)) return t(`reports.kind.${cell}` as MessageKey);
    if (cell === 'Total') return t('reports.total');
    return cell;
  }
  switch (column.kind) {
    case 'money':
      return formatMoney(cell, currency);
    case 'percent':
      return `${formatNumber(cell / 100, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}%`;
    case 'minutes':
      return t('reports.minutes', { count: cell });
    default:
      return formatNumber(cell);
  }
}

export interface ChartSeries {
  key: string;
  label: string;
  data: number[];
}

export interface ChartSpec {
  type: 'bar' | 'line';
  labels: string[];
  series: ChartSeries[];
  /** Money series are in currency units (minor / 100). */
  money: boolean;
}

/** The columns each report draws (by key); None: the table says it all. */
const CHARTED: Partial<Record<ReportId, { type: 'bar' | 'line'; keys: string[] }>> = {
  revenue_by_service: { type: 'bar', keys: ['total'] },
  revenue_by_mode: { type: 'bar', keys: ['received', 'refunded'] },
  revenue_by_doctor: { type: 'bar', keys: ['total'] },
  appointments_by_doctor: { type: 'bar', keys: ['attended', 'no_show', 'cancelled'] },
  patients_registrations: { type: 'line', keys: ['registered'] },
  patients_demographics: { type: 'bar', keys: ['female', 'male', 'other', 'unknown'] },
  receivables_ageing: { type: 'bar', keys: ['days_0_30', 'days_31_60', 'days_61_90', 'days_over_90'] },
  insurance_by_insurer: { type: 'bar', keys: ['claimed', 'approved', 'settled'] },
  morbidity_by_code: { type: 'bar', keys: ['patients'] },
  morbidity_by_chapter: { type: 'bar', keys: ['patients'] },
  doctor_performance: { type: 'bar', keys: ['new', 'follow_up'] },
  revenue_by_department: { type: 'bar', keys: ['total'] },
};

/** The reports the doctor and department filters apply to. */
export const BY_DOCTOR: readonly ReportId[] = [
  'revenue_by_service',
  'revenue_by_doctor',
  'revenue_by_department',
  'appointments_by_doctor',
  'appointments_busiest_hours',
  'doctor_performance',
  'morbidity_by_code',
  'morbidity_by_chapter',
];

export interface HeatMap {
  /** The hour columns' headers ("08:00"). */
  hours: string[];
  rows: { label: string; counts: number[] }[];
  max: number;
}

/** The busiest-hours grid (weekday rows × the hour columns, keys `hNN`), or null for another report. */
export function heatMap(report: Report): HeatMap | null {
  if (report.report !== 'appointments_busiest_hours') return null;
  const cols = report.table.columns.map((c, i) => ({ c, i })).filter(({ c }) => /^h\d\d$/.test(c.key));
  const rows = report.table.rows.map((r) => ({
    label: typeof r[0] === 'string' ? r[0] : '',
    counts: cols.map(({ i }) => (typeof r[i] === 'number' ? r[i] : 0)),
  }));
  const max = Math.max(0, ...rows.flatMap((r) => r.counts));
  return { hours: cols.map(({ c }) => c.title), rows, max };
}

/** A heat map cell's shade: 0 (none) to 1 (the busiest cell). */
export function shade(count: number, max: number): number {
  return max > 0 ? count / max : 0;
}

/** At most this many bars (the largest rows come first in the revenue, receivables and insurance reports). */
export const CHART_MAX_ROWS = 15;

/** What to draw for a report, or null. */
export function chartSpec(report: Report): ChartSpec | null {
  const plan = CHARTED[report.report];
  const table: Table = report.table;
  if (!plan || table.rows.length === 0) return null;
  const rows = plan.type === 'bar' ? table.rows.slice(0, CHART_MAX_ROWS) : table.rows;
  const cols = plan.keys.map((k) => table.columns.findIndex((c) => c.key === k)).filter((i) => i >= 0);
  if (cols.length === 0) return null;
  const money = cols.some((i) => table.columns[i]?.kind === 'money');
  const first = table.columns[0];
  return {
    type: plan.type,
    money,
    labels: rows.map((r) => (first ? formatCell(first, r[0] ?? null, report.currency) : '')),
    series: cols.map((i) => {
      const col = table.columns[i] as Column;
      return {
        key: col.key,
        label: columnLabel(col),
        data: rows.map((r) => {
          const v = r[i];
          const n = typeof v === 'number' ? v : 0;
          return col.kind === 'money' ? n / 100 : n;
        }),
      };
    }),
  };
}

/** Splits an error for the reports screen: messages next to the dates and filters, the rest for the page. */
export function reportErrors(e: AppError): { fields: Record<string, string>; form: string | null } {
  return billingErrors(['reports'], e, ['from', 'to', 'doctor_id', 'department_id']);
}
