// The clinical screens' logic that does not need a screen: units and formatting of vitals,
// BMI, what an implausible value allows, result flags and trends, chart series, the
// prescription form and the warning dialog's state. The rules themselves live in core: it
// says whether a refused value may be confirmed (reason `needs_confirmation`); the usual
// ranges here only word the message.

import type {
  OrderStatus,
  Prescription_Serialize as Prescription,
  Abnormal,
  AllergenOption,
  AppError,
  CancelledLabOrder_Serialize as CancelledLabOrder,
  ClinicalWarning,
  LabTestPrice_Serialize as LabTestPrice,
  DiagnosisInput_Deserialize as DiagnosisInput,
  Icd10Code,
  LabResult_Serialize as LabResult,
  LabTest_Serialize as LabTest,
  LabTestInput_Deserialize as LabTestInput,
  Patient_Serialize as Patient,
  PatientHit_Serialize as PatientHit,
  PrescriptionInput_Deserialize as PrescriptionInput,
  VisitSummary_Serialize as VisitSummary,
  Vitals_Serialize as Vitals,
  VitalsInput_Deserialize as VitalsInput,
} from './bindings';
import { ATTACHMENT_MAX_BYTES, OVERRIDE_REASON_MIN, VITALS_PLAUSIBLE } from './bindings';
import { formatDate, formatNumber, numberFormat, t, type MessageKey } from './i18n';
import { formatMoney } from './billing';

// ------------------------------------------------------------------ numbers

/**
 * A decimal typed by a person ("37.2", "70,5") scaled to an integer (`decimals` digits kept):
 * null for an empty box, 'invalid' for anything else that is not such a number.
 */
export function parseScaled(text: string, decimals: number): number | null | 'invalid' {
  const s = text.trim().replace(',', '.');
  if (s === '') return null;
  const m = /^(\d{1,7})(?:\.(\d+))?$/.exec(s) ?? /^()\.(\d+)$/.exec(s);
  if (!m) return 'invalid';
  const frac = m[2] ?? '';
  if (frac.length > decimals) return 'invalid';
  const whole = m[1] === '' ? 0 : Number(m[1]);
  return whole * 10 ** decimals + (frac === '' ? 0 : Number(frac.padEnd(decimals, '0')));
}

/** An integer scaled by 10^decimals as a short decimal in the user's locale ("37.2"). */
export function formatScaled(value: number | null | undefined, decimals: number): string {
  if (value === null || value === undefined) return '';
  const n = value / 10 ** decimals;
  try {
    return numberFormat({ maximumFractionDigits: decimals }).format(n);
  } catch {
    return String(n);
  }
}

// ------------------------------------------------------------------ vitals

/** The boxes of the vitals form, as typed. */
export interface VitalsForm {
  temperature: string; // °C, one decimal
  pulse: string; // per minute
  bp_systolic: string; // mmHg
  bp_diastolic: string;
  resp_rate: string; // per minute
  spo2: string; // %
  weight: string; // kg, up to three decimals (grams)
  height: string; // cm, one decimal (millimetres)
  pain: string; // 0 to 10
}

export type VitalsBox = keyof VitalsForm;
/** The core's fields of a measurement (VitalsInput). */
export type VitalsField =
  | 'temperature_c_x10'
  | 'pulse'
  | 'bp_systolic'
  | 'bp_diastolic'
  | 'resp_rate'
  | 'spo2'
  | 'weight_g'
  | 'height_mm'
  | 'pain';

interface VitalSpec {
  box: VitalsBox;
  field: VitalsField;
  /** Digits after the point the box takes (in its display unit). */
  decimals: number;
  /** Display unit → stored unit: stored = typed (scaled by decimals) × factor. */
  factor: number;
  label: MessageKey;
  unit: MessageKey;
}

export const VITALS: readonly VitalSpec[] = [
  { box: 'temperature', field: 'temperature_c_x10', decimals: 1, factor: 1, label: 'clin.vitals.temperature', unit: 'clin.unit.celsius' },
  { box: 'pulse', field: 'pulse', decimals: 0, factor: 1, label: 'clin.vitals.pulse', unit: 'clin.unit.perMinute' },
  { box: 'bp_systolic', field: 'bp_systolic', decimals: 0, factor: 1, label: 'clin.vitals.systolic', unit: 'clin.unit.mmHg' },
  { box: 'bp_diastolic', field: 'bp_diastolic', decimals: 0, factor: 1, label: 'clin.vitals.diastolic', unit: 'clin.unit.mmHg' },
  { box: 'resp_rate', field: 'resp_rate', decimals: 0, factor: 1, label: 'clin.vitals.respRate', unit: 'clin.unit.perMinute' },
  { box: 'spo2', field: 'spo2', decimals: 0, factor: 1, label: 'clin.vitals.spo2', unit: 'clin.unit.percent' },
  { box: 'weight', field: 'weight_g', decimals: 3, factor: 1, label: 'clin.vitals.weight', unit: 'clin.unit.kg' },
  { box: 'height', field: 'height_mm', decimals: 1, factor: 1, label: 'clin.vitals.height', unit: 'clin.unit.cm' },
  { box: 'pain', field: 'pain', decimals: 0, factor: 1, label: 'clin.vitals.pain', unit: 'clin.unit.painScale' },
];

export function emptyVitals(): VitalsForm {
  return { temperature: '', pulse: '', bp_systolic: '', bp_diastolic: '', resp_rate: '', spo2: '', weight: '', height: '', pain: '' };
}

function spec(field: string): VitalSpec | undefined {
  const name = field.replace(/^vitals\./, '');
  return VITALS.find((v) => v.field === name || v.box === name);
}

/** The box of the form a core field (or `vitals.<field>` of a consultation) is typed in. */
export function vitalsBox(field: string): VitalsBox | null {
  return spec(field)?.box ?? null;
}

/** The stored value of one box: null when empty, 'invalid' when not a number. */
export function vitalValue(form: VitalsForm, box: VitalsBox): number | null | 'invalid' {
  const s = VITALS.find((v) => v.box === box);
  if (!s) return null;
  const v = parseScaled(form[box], s.decimals);
  return typeof v === 'number' ? v * s.factor : v;
}


/**
 * The measurement to send, or the boxes that are not numbers. `confirmed` saves values
 * outside the plausible ranges (re-checked by the person).
 */
export function toVitalsInput(
  form: VitalsForm,
  patientId: string,
  visitId: string | null,
  confirmed: boolean,
): { input: VitalsInput | null; problems: Partial<Record<VitalsBox, string>> } {
  const problems: Partial<Record<VitalsBox, string>> = {};
  const values: Partial<Record<VitalsField, number | null>> = {};
  for (const s of VITALS) {
    const v = vitalValue(form, s.box);
    if (v === 'invalid') problems[s.box] = t('clin.vitals.notNumber');
    else values[s.field] = v;
  }
  if (Object.keys(problems).length > 0) return { input: null, problems };
  if (Object.values(values).every((v) => v === null || v === undefined)) {
    return { input: null, problems: { temperature: t('clin.vitals.atLeastOne') } };
  }
  return {
    input: {
      patient_id: patientId,
      visit_id: visitId,
      temperature_c_x10: values.temperature_c_x10 ?? null,
      pulse: values.pulse ?? null,
      bp_systolic: values.bp_systolic ?? null,
      bp_diastolic: values.bp_diastolic ?? null,
      resp_rate: values.resp_rate ?? null,
      spo2: values.spo2 ?? null,
      weight_g: values.weight_g ?? null,
      height_mm: values.height_mm ?? null,
      pain: values.pain ?? null,
      confirmed,
    },
    problems,
  };
}

/** Body-mass index (kg/m²) to one decimal, as core rounds it; null without both values. */
export function bmiX10(weightG: number | null | undefined, heightMm: number | null | undefined): number | null {
  if (!weightG || !heightMm || heightMm <= 0) return null;
  return Math.floor((Math.floor((weightG * 100_000) / (heightMm * heightMm)) + 5) / 10);
}

/** The BMI of what is typed in the form, for showing as the person types. */
export function formBmi(form: VitalsForm): string {
  const w = vitalValue(form, 'weight');
  const h = vitalValue(form, 'height');
  if (typeof w !== 'number' || typeof h !== 'number') return '';
  return formatScaled(bmiX10(w, h), 1);
}

/**
 * What the form says about a refused measurement: the box, the message, and whether the
 * value may be saved once confirmed (core's `needs_confirmation`: possible, but unusual).
 */
export function vitalsRefusal(e: AppError, form: VitalsForm): { box: VitalsBox | null; message: string; confirmable: boolean } | null {
  if (e.code !== 'validation') return null;
  const box = vitalsBox(e.detail.field);
  if (e.detail.field === 'vitals' || e.detail.field === 'vitals.vitals') {
    return { box: 'temperature', message: t('clin.vitals.atLeastOne'), confirmable: false };
  }
  if (!box) return null;
  // Whether a value may be confirmed is the core's decision (its reason code); the ranges
  // here only word the message.
  const s = VITALS.find((v) => v.box === box);
  const range = s ? rangeWords(s) : '';
  if (e.detail.reason === 'needs_confirmation') return { box, message: t('clin.vitals.implausible', { range }), confirmable: true };
  if (e.detail.reason !== 'out_of_range') return { box, message: t('validation.invalid'), confirmable: false };
  const value = vitalValue(form, box);
  const systolic = vitalValue(form, 'bp_systolic');
  const diastolicAbove = box === 'bp_diastolic' && typeof value === 'number' && typeof systolic === 'number' && value >= systolic;
  if (diastolicAbove) return { box, message: t('clin.vitals.diastolicAbove'), confirmable: false };
  return { box, message: t('clin.vitals.impossible', { range }), confirmable: false };
}

/** The usual range as words ("30.0–44.0 °C"): the core's plausible range, in the stored unit. */
function rangeWords(s: VitalSpec): string {
  const [low, high] = VITALS_PLAUSIBLE[s.field];
  const lo = formatScaled(low / s.factor, s.decimals);
  const hi = formatScaled(high / s.factor, s.decimals);
  return `${lo}–${hi} ${t(s.unit)}`;
}

/** One measurement of a set for display ("37.2 °C"), '' when not taken. */
export function formatVital(v: Pick<Vitals, VitalsField>, field: VitalsField): string {
  const s = VITALS.find((x) => x.field === field);
  const value = v[field];
  if (!s || value === null || value === undefined) return '';
  return `${formatScaled(value / s.factor, s.decimals)} ${t(s.unit)}`;
}

/** "120/80 mmHg", or one side with a dash. */
export function formatBp(v: Pick<Vitals, 'bp_systolic' | 'bp_diastolic'>): string {
  if (v.bp_systolic == null && v.bp_diastolic == null) return '';
  const s = v.bp_systolic == null ? '–' : formatNumber(v.bp_systolic);
  const d = v.bp_diastolic == null ? '–' : formatNumber(v.bp_diastolic);
  return `${s}/${d} ${t('clin.unit.mmHg')}`;
}

/** The lines of a set of vitals to show: label and value, the ones taken only. */
export function vitalsLines(v: Vitals): { label: string; value: string; key: string }[] {
  const out: { label: string; value: string; key: string }[] = [];
  const add = (key: string, label: MessageKey, value: string) => {
    if (value) out.push({ key, label: t(label), value });
  };
  add('temperature', 'clin.vitals.temperature', formatVital(v, 'temperature_c_x10'));
  add('pulse', 'clin.vitals.pulse', formatVital(v, 'pulse'));
  add('bp', 'clin.vitals.bp', formatBp(v));
  add('resp_rate', 'clin.vitals.respRate', formatVital(v, 'resp_rate'));
  add('spo2', 'clin.vitals.spo2', formatVital(v, 'spo2'));
  add('weight', 'clin.vitals.weight', formatVital(v, 'weight_g'));
  add('height', 'clin.vitals.height', formatVital(v, 'height_mm'));
  add('bmi', 'clin.vitals.bmi', formatScaled(v.bmi_x10, 1));
  add('pain', 'clin.vitals.pain', v.pain == null ? '' : `${formatNumber(v.pain)}/10`);
  return out;
}

// ------------------------------------------------------------------ chart series

export interface Series {
  key: string;
  label: string;
  unit: string;
  /** Oldest first. */
  points: { at: string; value: number }[];
}

/** The vitals history (any order) as one series per measurement, oldest first; empty series left out. */
export function vitalsSeries(history: readonly Vitals[]): Series[] {
  const sorted = [...history].sort((a, b) => a.taken_at.localeCompare(b.taken_at));
  const make = (key: string, label: MessageKey, unit: MessageKey, pick: (v: Vitals) => number | null | undefined): Series => ({
    key,
    label: t(label),
    unit: t(unit),
    points: sorted.flatMap((v) => {
      const value = pick(v);
      return value === null || value === undefined ? [] : [{ at: v.taken_at, value }];
    }),
  });
  return [
    make('temperature', 'clin.vitals.temperature', 'clin.unit.celsius', (v) => (v.temperature_c_x10 == null ? null : v.temperature_c_x10 / 10)),
    make('pulse', 'clin.vitals.pulse', 'clin.unit.perMinute', (v) => v.pulse),
    make('bp_systolic', 'clin.vitals.systolic', 'clin.unit.mmHg', (v) => v.bp_systolic),
    make('bp_diastolic', 'clin.vitals.diastolic', 'clin.unit.mmHg', (v) => v.bp_diastolic),
    make('resp_rate', 'clin.vitals.respRate', 'clin.unit.perMinute', (v) => v.resp_rate),
    make('spo2', 'clin.vitals.spo2', 'clin.unit.percent', (v) => v.spo2),
    make('weight', 'clin.vitals.weight', 'clin.unit.kg', (v) => (v.weight_g == null ? null : v.weight_g / 1000)),
    make('bmi', 'clin.vitals.bmi', 'clin.unit.bmi', (v) => (v.bmi_x10 == null ? null : v.bmi_x10 / 10)),
  ].filter((s) => s.points.length > 0);
}

/** Chart groups: measurements sharing a unit are drawn on one chart. */
export const VITALS_CHARTS: readonly { key: string; title: MessageKey; series: readonly string[] }[] = [
  { key: 'bp', title: 'clin.chart.bp', series: ['bp_systolic', 'bp_diastolic'] },
  { key: 'pulse', title: 'clin.chart.pulse', series: ['pulse', 'resp_rate'] },
  { key: 'temperature', title: 'clin.chart.temperature', series: ['temperature'] },
  { key: 'spo2', title: 'clin.chart.spo2', series: ['spo2'] },
  { key: 'weight', title: 'clin.chart.weight', series: ['weight', 'bmi'] },
];

/** A number from a lab value ("5.4", "12,5"); null for text ("positive"). */
export function resultNumber(value: string): number | null {
  const s = value.trim().replace(',', '.');
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : null;
}

/** One series per test with at least two numeric results, oldest first. */
export function resultTrends(results: readonly LabResult[]): (Series & { low: number | null; high: number | null })[] {
  const byCode = new Map<string, LabResult[]>();
  for (const r of results) {
    if (resultNumber(r.value) === null) continue;
    byCode.set(r.test_code, [...(byCode.get(r.test_code) ?? []), r]);
  }
  const out: (Series & { low: number | null; high: number | null })[] = [];
  for (const [code, list] of byCode) {
    if (list.length < 2) continue;
    const sorted = [...list].sort((a, b) => a.resulted_at.localeCompare(b.resulted_at));
    const last = sorted[sorted.length - 1]!;
    out.push({
      key: code,
      label: `${last.test_name} (${code})`,
      unit: last.unit,
      points: sorted.map((r) => ({ at: r.resulted_at, value: resultNumber(r.value) ?? 0 })),
      low: last.ref_low ? resultNumber(last.ref_low) : null,
      high: last.ref_high ? resultNumber(last.ref_high) : null,
    });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

// ------------------------------------------------------------------ results

/** How a result's flag shows: a word, an arrow and a style; null for normal/unknown (no flag). */
export function flagOf(abnormal: Abnormal): { label: string; symbol: string; kind: 'high' | 'low' } | null {
  if (abnormal === 'high') return { label: t('clin.flag.high'), symbol: '↑', kind: 'high' };
  if (abnormal === 'low') return { label: t('clin.flag.low'), symbol: '↓', kind: 'low' };
  return null;
}

/** The lab test form as typed (Catalogue and the Order dialog's "Add a test"). */
export interface LabTestForm {
  code: string;
  name: string;
  unit: string;
  ref_low: string;
  ref_high: string;
}

/** A test's own fields, the bounds as sent (none when blank). */
export type LabTestFields = Omit<LabTestForm, 'ref_low' | 'ref_high'> & { ref_low: string | null; ref_high: string | null };

/** The fields core names in a lab test's validation errors, in the form's order. */
export const LAB_TEST_FIELDS = ['code', 'name', 'unit', 'ref_low', 'ref_high'];

export function emptyLabTest(): LabTestForm {
  return { code: '', name: '', unit: '', ref_low: '', ref_high: '' };
}

/** How a test is offered in the Order dialog: "HB · Haemoglobin (12–16 g/dL)". */
export function labTestLabel(x: LabTestFields): string {
  const range = refRange(x.ref_low, x.ref_high, x.unit);
  return `${x.code} · ${x.name}${range ? ` (${range})` : ''}`;
}

/** The form of an existing test, to edit it. */
export function labTestForm(x: LabTest): LabTestForm {
  return { code: x.code, name: x.name, unit: x.unit, ref_low: x.ref_low ?? '', ref_high: x.ref_high ?? '' };
}

/** What is sent to core: a blank bound is no bound (core validates the rest). */
export function toLabTestInput(f: LabTestForm): LabTestFields & LabTestInput {
  return { ...f, ref_low: f.ref_low.trim() || null, ref_high: f.ref_high.trim() || null };
}

/**
 * A test added from the Order dialog joins the offered tests (in code order, as core lists
 * them) and is ticked at once, beside what was already ticked.
 */
/**
 * What the doctor is told after cancelling an order: cancelled; or, when its charge was
 * already on an issued invoice (the core says so), that the billing desk must credit it.
 */
export function cancelledMessage(r: CancelledLabOrder): { kind: 'success' | 'info'; text: string } {
  const test = r.order.test_name;
  if (r.charge.charge === 'invoiced') {
    return { kind: 'info', text: t('clin.lab.cancelledInvoiced', { test, number: r.charge.number ?? '—' }) };
  }
  return { kind: 'success', text: t('clin.lab.cancelled', { test }) };
}

/** A test in the Order dialog: its label and what ordering it charges today ("no charge" for none). */
export function labOrderOption(x: LabTestFields, price: LabTestPrice | undefined): string {
  const charge = price?.price_minor != null ? formatMoney(price.price_minor, price.currency) : t('clin.lab.noCharge');
  return `${labTestLabel(x)} · ${charge}`;
}

export function withAddedTest(tests: LabTest[], chosen: string[], added: LabTest): { tests: LabTest[]; chosen: string[] } {
  const others = tests.filter((x) => x.id !== added.id);
  return {
    tests: [...others, added].sort((a, b) => a.code.localeCompare(b.code)),
    chosen: chosen.includes(added.id) ? chosen : [...chosen, added.id],
  };
}

/** A reference range as text ("3.5–5.0 mmol/L", "≤ 200 mg/dL"), '' when there is none. */
export function refRange(low: string | null | undefined, high: string | null | undefined, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  if (low && high) return `${low}–${high}${u}`;
  if (low) return `≥ ${low}${u}`;
  if (high) return `≤ ${high}${u}`;
  return '';
}

/** The flag a value would get against a range (before it is sent; core decides). */
export function previewFlag(value: string, low: string | null | undefined, high: string | null | undefined): Abnormal {
  const v = resultNumber(value);
  const l = low ? resultNumber(low) : null;
  const h = high ? resultNumber(high) : null;
  if (v === null || (l === null && h === null)) return 'unknown';
  if (l !== null && v < l) return 'low';
  if (h !== null && v > h) return 'high';
  return 'normal';
}

// ------------------------------------------------------------------ diagnoses

export type DiagnosisChoice = { kind: 'coded'; code: Icd10Code } | { kind: 'free'; text: string };

/** What to send for a diagnosis: a code (its description unless reworded) or uncoded text. */
export function toDiagnosisInput(choice: DiagnosisChoice, final: boolean): DiagnosisInput {
  const certainty = final ? 'final' : 'provisional';
  if (choice.kind === 'coded') return { icd10: choice.code.code, text: '', certainty };
  return { icd10: null, text: choice.text.trim(), certainty };
}

/** Whether a search box holds a code ("E11", "e11.9") rather than words. */
export function looksLikeCode(q: string): boolean {
  return /^[A-Za-z]\d[0-9A-Za-z]?(\.[0-9A-Za-z]{0,4})?$/.test(q.trim());
}

// ------------------------------------------------------------------ prescriptions

export interface PrescriptionForm {
  medicine_id: string;
  dose: string;
  dose_unit: string;
  route: string;
  frequency: string;
  duration: string;
  instructions: string;
}

export const DOSE_UNITS = ['tablet', 'capsule', 'ml', 'mg', 'drop', 'puff', 'sachet', 'unit', 'application'] as const;
export const ROUTES = ['oral', 'iv', 'im', 'sc', 'topical', 'inhaled', 'sublingual', 'rectal', 'eye', 'ear', 'nasal'] as const;
export const FREQUENCIES = ['1-0-0', '0-0-1', '1-0-1', '1-1-1', '1-1-1-1', 'SOS', 'STAT', 'weekly'] as const;

export function emptyPrescription(): PrescriptionForm {
  return { medicine_id: '', dose: '', dose_unit: 'tablet', route: 'oral', frequency: '1-0-1', duration: '5', instructions: '' };
}

/** The form of a prescription being changed: its values as written. */
export function prescriptionForm(p: Prescription): PrescriptionForm {
  return {
    medicine_id: p.medicine_id,
    dose: p.dose,
    dose_unit: p.dose_unit,
    route: p.route,
    frequency: p.frequency,
    duration: p.duration_days == null ? '' : String(p.duration_days),
    instructions: p.instructions,
  };
}

/** The prescription to send, or problems by field; `reason` overrides warnings. */
export function toPrescriptionInput(
  form: PrescriptionForm,
  reason: string | null = null,
): { input: PrescriptionInput | null; problems: Record<string, string> } {
  const problems: Record<string, string> = {};
  if (!form.medicine_id) problems.medicine_id = t('clin.rx.chooseMedicine');
  if (!form.dose.trim()) problems.dose = t('validation.required');
  if (!form.dose_unit.trim()) problems.dose_unit = t('validation.required');
  let duration: number | null = null;
  if (form.duration.trim() !== '') {
    const d = Number(form.duration.trim());
    if (!Number.isInteger(d) || d < 1 || d > 3650) problems.duration_days = t('clin.rx.durationRange');
    else duration = d;
  }
  if (Object.keys(problems).length > 0) return { input: null, problems };
  return {
    input: {
      medicine_id: form.medicine_id,
      dose: form.dose.trim(),
      dose_unit: form.dose_unit.trim(),
      route: form.route.trim(),
      frequency: form.frequency.trim(),
      duration_days: duration,
      instructions: form.instructions.trim(),
      override_reason: reason && reason.trim() ? reason.trim() : null,
    },
    problems,
  };
}

/**
 * The warning dialog: what core warned about, the reason typed, and whether it is open. A
 * plain object, so that a screen can hold it in $state and these functions can be tested.
 */
export interface WarningDialogState {
  warnings: ClinicalWarning[];
  reason: string;
  open: boolean;
}

export function warningDialog(): WarningDialogState {
  return { warnings: [], reason: '', open: false };
}

/** Opens the dialog on a refusal; true when the error was the clinical-warning one. */
export function showWarnings(state: WarningDialogState, e: AppError): boolean {
  if (e.code !== 'clinical_warning') return false;
  state.warnings = e.detail.warnings;
  state.reason = '';
  state.open = true;
  return true;
}

/** Whether the reason says enough to prescribe despite the warnings. */
export function canOverride(state: WarningDialogState): boolean {
  return state.open && state.reason.trim().length >= OVERRIDE_REASON_MIN;
}

export function closeWarnings(state: WarningDialogState): void {
  state.open = false;
  state.warnings = [];
  state.reason = '';
}

/**
 * A warning as a sentence. An allergy says why: "Allergy: Sulfamethoxazole is a sulfonamide
 * antibiotic; allergy: Sulfa drugs, severe: rash"; a cross-reaction is worded as the lesser
 * "Possible cross-reaction: …"; a medicine already taken: "Already taking: Metformin — 1 tablet".
 */
export function warningText(w: ClinicalWarning): string {
  const kind =
    w.kind === 'allergy'
      ? t('clin.warning.allergy')
      : w.kind === 'allergy_cross_reaction'
        ? t('clin.warning.crossReaction')
        : t('clin.warning.duplicate');
  if (w.reason) {
    const allergy = w.detail ? t('clin.warning.allergyDetail', { subject: w.subject, detail: w.detail }) : t('clin.warning.allergyOnly', { subject: w.subject });
    return `${kind}: ${w.reason}; ${allergy}`;
  }
  return w.detail ? `${kind}: ${w.subject} — ${w.detail}` : `${kind}: ${w.subject}`;
}

/** Whether the warning is the lower-severity kind (a possible cross-reaction). */
export function isCaution(w: ClinicalWarning): boolean {
  return w.kind === 'allergy_cross_reaction';
}

/**
 * What the allergy form will record: the entry chosen from the list, or the one whose name is
 * exactly what was typed (core matches such text to the list too); null when the text names
 * nothing on the list (recorded as free text, not checked against medicines' ingredients).
 */
export function chosenAllergen(text: string, picked: AllergenOption | null, hits: AllergenOption[]): AllergenOption | null {
  const typed = text.trim().toLowerCase();
  if (!typed) return null;
  if (picked && picked.name.toLowerCase() === typed) return picked;
  return hits.find((h) => h.name.toLowerCase() === typed) ?? null;
}

/** The substance id of a picker entry ("substance:amoxicillin" → "amoxicillin"), as a medicine's ingredients take it. */
export function substanceId(o: AllergenOption): string {
  return o.code.startsWith('substance:') ? o.code.slice('substance:'.length) : o.code;
}

/** "Substance · Penicillins" or "Class" for an entry of the allergy picker. */
export function allergenDetail(o: AllergenOption): string {
  const kind = o.kind === 'class' ? t('clin.allergy.kindClass') : t('clin.allergy.kindSubstance');
  return o.classes.length ? `${kind} · ${o.classes.join(', ')}` : kind;
}

/** "Paracetamol 500 mg tablet". */
export function medicineLabel(m: { name: string; strength: string; form: string }): string {
  return [m.name, m.strength, m.form].filter((s) => s && s.trim()).join(' ');
}

/** "1 tablet · oral · 1-0-1 · 5 days". */
export function doseLine(p: { dose: string; dose_unit: string; route: string; frequency: string; duration_days: number | null }): string {
  const parts = [`${p.dose} ${p.dose_unit}`.trim(), p.route, p.frequency];
  if (p.duration_days) parts.push(t('clin.rx.days', { count: p.duration_days }));
  else parts.push(t('clin.rx.longTerm'));
  return parts.filter(Boolean).join(' · ');
}

// ------------------------------------------------------------------ visits and patients

/** The open visit of a timeline (the newest not closed), if any. */
export function openVisit(visits: readonly VisitSummary[]): VisitSummary | null {
  return visits.find((v) => !v.closed_at) ?? null;
}

/** A patient as a search hit (to preset a booking). */
export function hitOfPatient(p: Patient): PatientHit {
  const name = [p.given_name, p.other_names, p.family_name].filter((s) => s && s.trim()).join(' ');
  return {
    id: p.id,
    mrn: p.mrn,
    name,
    sex: p.sex,
    birth_date: p.birth_date ?? null,
    birth_date_estimated: p.birth_date_estimated,
    age_years: null,
    phone: p.phones[0] ?? null,
    last_visit_at: p.last_visit_at ?? null,
    status: p.status,
    matched: 'mrn',
  };
}

/** "3 Mar 2026 · Dr. Rao" for a timeline entry. */
export function visitHeading(v: Pick<VisitSummary, 'started_at' | 'doctor_name'>): string {
  return `${formatDate(v.started_at)} · ${v.doctor_name}`;
}

/** Base64 of a file's bytes (attachments). */
export function base64OfBytes(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

/**
 * Series on one chart: the union of their instants as the x labels (oldest first) and each
 * series' values aligned on them (null where a series has no value at that instant).
 */
export function alignSeries(series: readonly Series[]): { at: string[]; data: (number | null)[][] } {
  const at = [...new Set(series.flatMap((s) => s.points.map((p) => p.at)))].sort();
  const data = series.map((s) => {
    const byAt = new Map(s.points.map((p) => [p.at, p.value]));
    return at.map((a) => byAt.get(a) ?? null);
  });
  return { at, data };
}

// ------------------------------------------------------------------ alerts

export interface ChartAlert {
  kind: 'allergy' | 'result' | 'override' | 'pending';
  text: string;
}

/** What the chart calls out first: severe allergies, abnormal latest results, overridden warnings, tests awaited. */
export function chartAlerts(s: {
  allergies: readonly { substance: string; severity: string; reaction: string }[];
  recent_results: readonly LabResult[];
  current_medicines: readonly { medicine_name: string; override_reason: string | null }[];
  pending_orders: readonly unknown[];
}): ChartAlert[] {
  const out: ChartAlert[] = [];
  for (const a of s.allergies) {
    if (a.severity === 'severe') out.push({ kind: 'allergy', text: t('clin.alert.severeAllergy', { substance: a.substance }) });
  }
  // The latest result of each test (results come newest first).
  const seen = new Set<string>();
  for (const r of s.recent_results) {
    if (seen.has(r.test_code)) continue;
    seen.add(r.test_code);
    const flag = flagOf(r.abnormal);
    if (flag) out.push({ kind: 'result', text: t('clin.alert.abnormal', { test: r.test_name, value: `${r.value} ${r.unit}`.trim(), flag: flag.label }) });
  }
  for (const m of s.current_medicines) {
    if (m.override_reason) out.push({ kind: 'override', text: t('clin.alert.override', { medicine: m.medicine_name, reason: m.override_reason }) });
  }
  if (s.pending_orders.length > 0) out.push({ kind: 'pending', text: t('clin.alert.pending', { count: s.pending_orders.length }) });
  return out;
}

// ------------------------------------------------------------------ documents

/** The files a record takes (as core accepts them). */
export const ATTACHMENT_TYPES = ['application/pdf', 'image/png', 'image/jpeg', 'image/webp'] as const;
export const MAX_ATTACHMENT_BYTES = ATTACHMENT_MAX_BYTES;

/** "PDF", "Image" (or the media type as it is). */
export function attachmentKind(mediaType: string): string {
  if (mediaType === 'application/pdf') return t('clin.doc.kind.pdf');
  if (mediaType.startsWith('image/')) return t('clin.doc.kind.image');
  return mediaType;
}

/** "850 B", "12.4 KB", "3.1 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${formatNumber(n)} B`;
  if (n < 1024 * 1024) return `${formatScaled(Math.round((n / 1024) * 10), 1)} KB`;
  return `${formatScaled(Math.round((n / (1024 * 1024)) * 10), 1)} MB`;
}

/** A lab order's status in words ("Sample collected"); collected is an order whose sample the lab took. */
export function orderStatusLabel(status: OrderStatus): string {
  return t(`clin.lab.status.${status}` as MessageKey);
}
