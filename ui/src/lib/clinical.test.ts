import { afterEach, describe, expect, it } from 'vitest';
import type { AppError, LabTest_Serialize as LabTest, OrderStatus, ValidationReason, LabResult_Serialize as LabResult, Vitals_Serialize as Vitals } from './bindings';
import { setLocale } from './i18n';
import {
  alignSeries,
  bmiX10,
  canOverride,
  chartAlerts,
  closeWarnings,
  doseLine,
  emptyLabTest,
  emptyPrescription,
  emptyVitals,
  flagOf,
  formBmi,
  formatBp,
  formatScaled,
  labTestForm,
  labTestLabel,
  cancelledMessage,
  labOrderOption,
  looksLikeCode,
  medicineLabel,
  openVisit,
  orderStatusLabel,
  prescriptionForm,
  parseScaled,
  previewFlag,
  refRange,
  resultNumber,
  resultTrends,
  showWarnings,
  toDiagnosisInput,
  toLabTestInput,
  toPrescriptionInput,
  toVitalsInput,
  vitalsBox,
  vitalsLines,
  vitalsRefusal,
  vitalsSeries,
  warningDialog,
  warningText,
  withAddedTest,
  isCaution,
  chosenAllergen,
  allergenDetail,
  substanceId,
} from './clinical';

afterEach(() => setLocale('en-US'));
setLocale('en-US');

function vitals(over: Partial<Vitals>): Vitals {
  return {
    id: 'v',
    patient_id: 'p',
    visit_id: null,
    taken_at: '2026-03-01T10:00:00Z',
    temperature_c_x10: null,
    pulse: null,
    bp_systolic: null,
    bp_diastolic: null,
    resp_rate: null,
    spo2: null,
    weight_g: null,
    height_mm: null,
    pain: null,
    bmi_x10: null,
    confirmed: false,
    ...over,
  };
}

function result(over: Partial<LabResult>): LabResult {
  return {
    id: 'r',
    order_id: 'o',
    patient_id: 'p',
    test_code: 'HB',
    test_name: 'Haemoglobin',
    value: '13',
    unit: 'g/dL',
    ref_low: '12',
    ref_high: '16',
    abnormal: 'normal',
    resulted_at: '2026-03-01T10:00:00Z',
    ...over,
  };
}

const validation = (field: string, reason: ValidationReason): AppError => ({
  code: 'validation',
  detail: { field, reason, message: '' },
});

describe('numbers typed by a person', () => {
  it('scales decimals to integers, refusing what is not a number', () => {
    expect(parseScaled('37.2', 1)).toBe(372);
    expect(parseScaled('37', 1)).toBe(370);
    expect(parseScaled('70,5', 3)).toBe(70_500);
    expect(parseScaled('.5', 1)).toBe(5);
    expect(parseScaled('  ', 1)).toBeNull();
    expect(parseScaled('37.25', 1)).toBe('invalid');
    expect(parseScaled('abc', 0)).toBe('invalid');
    expect(parseScaled('-3', 0)).toBe('invalid');
  });

  it('formats scaled integers back', () => {
    expect(formatScaled(372, 1)).toBe('37.2');
    expect(formatScaled(370, 1)).toBe('37');
    expect(formatScaled(null, 1)).toBe('');
  });
});

describe('vitals', () => {
  it('turns the form into the core measurement in its units', () => {
    const form = { ...emptyVitals(), temperature: '38.4', pulse: '96', bp_systolic: '130', bp_diastolic: '85', weight: '70.5', height: '172' };
    const { input, problems } = toVitalsInput(form, 'p1', 'v1', false);
    expect(problems).toEqual({});
    expect(input).toMatchObject({
      patient_id: 'p1',
      visit_id: 'v1',
      temperature_c_x10: 384,
      pulse: 96,
      bp_systolic: 130,
      bp_diastolic: 85,
      weight_g: 70_500,
      height_mm: 1_720,
      spo2: null,
      confirmed: false,
    });
  });

  it('names the boxes that are not numbers, and asks for at least one value', () => {
    expect(toVitalsInput({ ...emptyVitals(), pulse: 'fast' }, 'p', null, false).problems).toHaveProperty('pulse');
    expect(toVitalsInput(emptyVitals(), 'p', null, false).input).toBeNull();
  });

  it('computes the BMI as core rounds it', () => {
    expect(bmiX10(70_000, 1_750)).toBe(229); // 22.86
    expect(bmiX10(70_000, null)).toBeNull();
    expect(formBmi({ ...emptyVitals(), weight: '70', height: '175' })).toBe('22.9');
    expect(formBmi({ ...emptyVitals(), weight: '70' })).toBe('');
  });

  it('offers to confirm an implausible value on its field, never an impossible one', () => {
    const form = { ...emptyVitals(), pulse: '260' };
    const r = vitalsRefusal(validation('pulse', 'needs_confirmation'), form);
    expect(r).toMatchObject({ box: 'pulse', confirmable: true });
    expect(r?.message).toMatch(/20–250/);
    const impossible = vitalsRefusal(validation('pulse', 'out_of_range'), { ...emptyVitals(), pulse: '400' });
    expect(impossible).toMatchObject({ box: 'pulse', confirmable: false });
    const bp = vitalsRefusal(validation('bp_diastolic', 'out_of_range'), { ...emptyVitals(), bp_systolic: '80', bp_diastolic: '90' });
    expect(bp).toMatchObject({ box: 'bp_diastolic', confirmable: false });
    expect(vitalsRefusal({ code: 'forbidden', detail: { permission: 'vitals_edit' } }, form)).toBeNull();
  });

  it('maps core fields (also inside a consultation) to the form boxes', () => {
    expect(vitalsBox('temperature_c_x10')).toBe('temperature');
    expect(vitalsBox('vitals.weight_g')).toBe('weight');
    expect(vitalsBox('notes')).toBeNull();
  });

  it('shows a set of vitals with units, leaving out what was not taken', () => {
    const lines = vitalsLines(vitals({ temperature_c_x10: 372, bp_systolic: 120, bp_diastolic: 80, bmi_x10: 224, pain: 3 }));
    expect(lines.map((l) => [l.key, l.value])).toEqual([
      ['temperature', '37.2 °C'],
      ['bp', '120/80 mmHg'],
      ['bmi', '22.4'],
      ['pain', '3/10'],
    ]);
    expect(formatBp({ bp_systolic: 120, bp_diastolic: null })).toBe('120/– mmHg');
  });

  it('builds chart series oldest first, leaving empty ones out', () => {
    const series = vitalsSeries([
      vitals({ taken_at: '2026-03-02T10:00:00Z', pulse: 90, temperature_c_x10: 380 }),
      vitals({ taken_at: '2026-03-01T10:00:00Z', pulse: 80 }),
    ]);
    expect(series.map((s) => s.key)).toEqual(['temperature', 'pulse']);
    expect(series[1]?.points.map((p) => p.value)).toEqual([80, 90]);
    expect(series[0]?.points).toEqual([{ at: '2026-03-02T10:00:00Z', value: 38 }]);
  });

  it('aligns series on the union of their instants', () => {
    const a = { key: 'a', label: 'A', unit: '', points: [{ at: '1', value: 1 }, { at: '3', value: 3 }] };
    const b = { key: 'b', label: 'B', unit: '', points: [{ at: '2', value: 20 }] };
    expect(alignSeries([a, b])).toEqual({ at: ['1', '2', '3'], data: [[1, null, 3], [null, 20, null]] });
  });
});

describe('results', () => {
  it('flags high and low, nothing for normal or unknown', () => {
    expect(flagOf('high')).toMatchObject({ symbol: '↑', label: 'High' });
    expect(flagOf('low')).toMatchObject({ symbol: '↓', label: 'Low' });
    expect(flagOf('normal')).toBeNull();
    expect(flagOf('unknown')).toBeNull();
  });

  it('words reference ranges, open at either end', () => {
    expect(refRange('12', '16', 'g/dL')).toBe('12–16 g/dL');
    expect(refRange(null, '200', 'mg/dL')).toBe('≤ 200 mg/dL');
    expect(refRange('3.5', null)).toBe('≥ 3.5');
    expect(refRange(null, null, 'x')).toBe('');
  });

  it('previews the flag of a value as core computes it', () => {
    expect(previewFlag('18.2', '12', '16')).toBe('high');
    expect(previewFlag('11', '12', '16')).toBe('low');
    expect(previewFlag('12', '12', '16')).toBe('normal');
    expect(previewFlag('positive', '12', '16')).toBe('unknown');
    expect(previewFlag('5', null, null)).toBe('unknown');
    expect(resultNumber('12,5')).toBe(12.5);
  });

  it('trends only tests with two numeric results or more, oldest first, with the range', () => {
    const trends = resultTrends([
      result({ id: '3', value: '18', resulted_at: '2026-03-03T00:00:00Z', abnormal: 'high' }),
      result({ id: '1', value: '13', resulted_at: '2026-03-01T00:00:00Z' }),
      result({ id: '2', test_code: 'CRP', value: 'positive' }),
      result({ id: '4', test_code: 'NA', value: '140' }),
    ]);
    expect(trends).toHaveLength(1);
    expect(trends[0]).toMatchObject({ key: 'HB', low: 12, high: 16, unit: 'g/dL' });
    expect(trends[0]?.points.map((p) => p.value)).toEqual([13, 18]);
  });

  it('alerts on severe allergies, abnormal latest results, overrides and tests awaited', () => {
    const alerts = chartAlerts({
      allergies: [
        { substance: 'Penicillin', severity: 'severe', reaction: 'rash' },
        { substance: 'Dust', severity: 'mild', reaction: '' },
      ],
      recent_results: [result({ value: '18', abnormal: 'high' }), result({ id: 'old', value: '9', abnormal: 'low' })],
      current_medicines: [{ medicine_name: 'Amoxicillin', override_reason: 'tolerated before' }],
      pending_orders: [{}, {}],
    });
    expect(alerts.map((a) => a.kind)).toEqual(['allergy', 'result', 'override', 'pending']);
    expect(alerts[1]?.text).toBe('Haemoglobin: 18 g/dL (High)');
    expect(alerts[3]?.text).toBe('2 tests awaited');
  });
});

describe('diagnoses', () => {
  it('sends a code with its certainty, or uncoded text', () => {
    expect(toDiagnosisInput({ kind: 'coded', code: { code: 'E11.9', description: 'Type 2 diabetes' } }, true)).toEqual({
      icd10: 'E11.9',
      text: '',
      certainty: 'final',
    });
    expect(toDiagnosisInput({ kind: 'free', text: '  viral fever ' }, false)).toEqual({ icd10: null, text: 'viral fever', certainty: 'provisional' });
  });

  it('tells codes from words', () => {
    expect(looksLikeCode('E11')).toBe(true);
    expect(looksLikeCode('j06.9')).toBe(true);
    expect(looksLikeCode('diabetes')).toBe(false);
  });
});

describe('prescriptions', () => {
  it('needs a medicine, a dose and a sensible duration', () => {
    const empty = toPrescriptionInput({ ...emptyPrescription(), duration: '0' });
    expect(empty.input).toBeNull();
    expect(Object.keys(empty.problems).sort()).toEqual(['dose', 'duration_days', 'medicine_id']);
    const ok = toPrescriptionInput({ ...emptyPrescription(), medicine_id: 'm1', dose: ' 1 ', duration: '' }, '  known to tolerate ');
    expect(ok.input).toMatchObject({ medicine_id: 'm1', dose: '1', dose_unit: 'tablet', duration_days: null, override_reason: 'known to tolerate' });
  });

  it('words a medicine and its dose', () => {
    expect(medicineLabel({ name: 'Paracetamol', strength: '500 mg', form: 'tablet' })).toBe('Paracetamol 500 mg tablet');
    expect(medicineLabel({ name: 'ORS', strength: '', form: '' })).toBe('ORS');
    expect(doseLine({ dose: '1', dose_unit: 'tablet', route: 'oral', frequency: '1-0-1', duration_days: 5 })).toBe('1 tablet · oral · 1-0-1 · 5 days');
    expect(doseLine({ dose: '5', dose_unit: 'ml', route: '', frequency: 'TDS', duration_days: null })).toBe('5 ml · TDS · long-term');
  });

  it('opens the warning dialog on the clinical warning only, and needs a reason to override', () => {
    const state = warningDialog();
    expect(showWarnings(state, validation('dose', 'required'))).toBe(false);
    expect(state.open).toBe(false);
    const warned: AppError = {
      code: 'clinical_warning',
      detail: { warnings: [{ kind: 'allergy', subject: 'Penicillin', detail: 'flagged on the patient’s record', reason: '' }] },
    };
    expect(showWarnings(state, warned)).toBe(true);
    expect(state.open).toBe(true);
    expect(state.warnings).toHaveLength(1);
    expect(canOverride(state)).toBe(false);
    state.reason = ' ok ';
    expect(canOverride(state)).toBe(false);
    state.reason = 'Tolerated amoxicillin last year';
    expect(canOverride(state)).toBe(true);
    closeWarnings(state);
    expect(state).toEqual({ warnings: [], reason: '', open: false });
  });

  it('words warnings', () => {
    expect(warningText({ kind: 'allergy', subject: 'Penicillin', detail: 'severe: rash', reason: '' })).toBe('Allergy: Penicillin — severe: rash');
    expect(warningText({ kind: 'duplicate_medicine', subject: 'Metformin', detail: '', reason: '' })).toBe('Already taking: Metformin');
    expect(
      warningText({ kind: 'allergy', subject: 'Sulfa drugs', detail: 'severe: rash', reason: 'Sulfamethoxazole is a sulfonamide antibiotic' }),
    ).toBe('Allergy: Sulfamethoxazole is a sulfonamide antibiotic; allergy: Sulfa drugs, severe: rash');
    const cross = { kind: 'allergy_cross_reaction' as const, subject: 'Penicillin', detail: 'mild', reason: 'Ceftriaxone is a cephalosporin' };
    expect(warningText(cross)).toBe('Possible cross-reaction: Ceftriaxone is a cephalosporin; allergy: Penicillin, mild');
    expect(isCaution(cross)).toBe(true);
  });

  it('knows what the allergy form records', () => {
    const pen = { code: 'class:penicillins', name: 'Penicillins', kind: 'class' as const, classes: ['Beta-lactam antibiotics'] };
    expect(chosenAllergen('Penicillins', pen, [])).toBe(pen);
    expect(chosenAllergen(' penicillins ', null, [pen])).toBe(pen);
    expect(chosenAllergen('Penicillin and dust', pen, [pen])).toBeNull();
    expect(chosenAllergen('', pen, [pen])).toBeNull();
    expect(allergenDetail(pen)).toBe('Drug class · Beta-lactam antibiotics');
    expect(substanceId({ code: 'substance:clavulanic_acid', name: 'Clavulanic acid', kind: 'substance', classes: [] })).toBe('clavulanic_acid');
  });
});

describe('visits', () => {
  it('finds the open visit of a timeline', () => {
    const v = (id: string, closed: string | null) => ({ id, started_at: '', closed_at: closed, doctor_name: '', complaints: '', diagnoses: [] });
    expect(openVisit([v('a', 'x'), v('b', null)])?.id).toBe('b');
    expect(openVisit([v('a', 'x')])).toBeNull();
  });
});

describe('requests between areas', () => {
  it('hands a chart or a booking to its screen once', async () => {
    const { bookingNav, chartNav } = await import('./clinicalNav.svelte');
    expect(chartNav.take()).toBeNull();
    chartNav.ask({ patientId: 'p1', appointmentId: 'a1' });
    expect(chartNav.pending).toEqual({ patientId: 'p1', appointmentId: 'a1' });
    expect(chartNav.take()).toEqual({ patientId: 'p1', appointmentId: 'a1' });
    expect(chartNav.take()).toBeNull();
    expect(bookingNav.pending).toBeNull();
  });
});

describe('documents', () => {
  it('words file types and sizes', async () => {
    const { attachmentKind, formatBytes, base64OfBytes } = await import('./clinical');
    expect(attachmentKind('application/pdf')).toBe('PDF');
    expect(attachmentKind('image/png')).toBe('Image');
    expect(formatBytes(850)).toBe('850 B');
    expect(formatBytes(12_700)).toBe('12.4 KB');
    expect(formatBytes(3_250_000)).toBe('3.1 MB');
    expect(base64OfBytes(new Uint8Array([72, 77, 83]))).toBe('SE1T');
  });
});

describe('lab orders', () => {
  it('every status of an order has words, collected included', () => {
    const all: OrderStatus[] = ['ordered', 'collected', 'resulted', 'cancelled'];
    expect(all.map(orderStatusLabel)).toEqual(['Awaited', 'Sample collected', 'Resulted', 'Cancelled']);
  });
});

describe('changing a prescription', () => {
  it('starts from the values as written and sends them back unchanged', () => {
    const written = {
      id: 'rx-1',
      visit_id: 'v-1',
      patient_id: 'p-1',
      medicine_id: 'med-para',
      medicine_name: 'Paracetamol',
      strength: '650 mg',
      form: 'tablet',
      dose: '1',
      dose_unit: 'tablet',
      route: 'oral',
      frequency: '1-0-1',
      duration_days: null,
      instructions: 'after food',
      override_reason: null,
      warnings: [],
      starts_on: '2026-12-05',
      stopped_at: null,
      stopped_by: null,
      stop_reason: '',
    };
    const form = prescriptionForm(written);
    expect(form).toEqual({
      medicine_id: 'med-para',
      dose: '1',
      dose_unit: 'tablet',
      route: 'oral',
      frequency: '1-0-1',
      duration: '',
      instructions: 'after food',
    });
    expect(toPrescriptionInput({ ...form, duration: '3' }).input).toMatchObject({ medicine_id: 'med-para', duration_days: 3 });
  });
});

describe('a lab test added from the Order dialog', () => {
  const test = (id: string, code: string): LabTest => ({ id, code, name: code, unit: '', ref_low: null, ref_high: null, active: true });

  it('blank reference bounds are sent as none, others as typed', () => {
    const f = { ...emptyLabTest(), code: 'CRP', name: 'C-reactive protein', unit: 'mg/L', ref_low: '  ', ref_high: ' 5 ' };
    expect(toLabTestInput(f)).toEqual({ code: 'CRP', name: 'C-reactive protein', unit: 'mg/L', ref_low: null, ref_high: '5' });
    expect(labTestLabel(toLabTestInput(f))).toBe('CRP · C-reactive protein (≤ 5 mg/L)');
    expect(labTestForm({ ...test('1', 'HB'), ref_low: '12' })).toEqual({ code: 'HB', name: 'HB', unit: '', ref_low: '12', ref_high: '' });
  });

  it('joins the list in code order and is ticked beside what was ticked', () => {
    const hb = test('1', 'HB');
    const tsh = test('2', 'TSH');
    const crp = test('3', 'CRP');
    const r = withAddedTest([hb, tsh], ['2'], crp);
    expect(r.tests.map((x) => x.code)).toEqual(['CRP', 'HB', 'TSH']);
    expect(r.chosen).toEqual(['2', '3']);
    // Added twice (a slow reply): listed and ticked once.
    const again = withAddedTest(r.tests, r.chosen, crp);
    expect(again.tests.map((x) => x.code)).toEqual(['CRP', 'HB', 'TSH']);
    expect(again.chosen).toEqual(['2', '3']);
  });
});

describe('cancelling a lab order', () => {
  const order = { test_name: 'Haemoglobin' } as unknown as LabOrderForCancel;
  type LabOrderForCancel = Parameters<typeof cancelledMessage>[0]['order'];
  it('tells the doctor when the charge stays on an issued invoice for the billing desk to credit', () => {
    const m = cancelledMessage({ order, charge: { charge: 'invoiced', bill_id: 'b1', number: 'INV-AB12-000007' } });
    expect(m.kind).toBe('info');
    expect(m.text).toBe('Haemoglobin cancelled. The charge is on invoice INV-AB12-000007; the billing desk must credit it.');
  });
  it('says only "cancelled" when the charge came off the open bill or there was none', () => {
    expect(cancelledMessage({ order, charge: { charge: 'removed', bill_id: 'b1' } })).toEqual({ kind: 'success', text: 'Haemoglobin cancelled.' });
    expect(cancelledMessage({ order, charge: { charge: 'none' } })).toEqual({ kind: 'success', text: 'Haemoglobin cancelled.' });
  });
});

describe('the Order dialog', () => {
  it('shows each test with what ordering it charges today, or "no charge"', () => {
    const hb = { code: 'HB', name: 'Haemoglobin', unit: 'g/dL', ref_low: '13', ref_high: '17' };
    const label = labOrderOption(hb as never, { test_id: 't1', price_minor: 15000, currency: 'INR' });
    expect(label.startsWith(labTestLabel(hb as never))).toBe(true);
    expect(label).toMatch(/150\.00$/);
    expect(labOrderOption(hb as never, { test_id: 't1', price_minor: null, currency: 'INR' })).toMatch(/· no charge$/);
    expect(labOrderOption(hb as never, undefined)).toMatch(/· no charge$/);
  });
});
