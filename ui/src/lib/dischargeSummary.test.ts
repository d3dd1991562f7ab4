import { describe, expect, it } from 'vitest';
import type { DischargeSummary } from './bindings';
import { formOf, medicineRow, resultLabel, toSummaryInput } from './dischargeSummary';

const saved: DischargeSummary = {
  id: 's1',
  admission_id: 'a1',
  diagnoses: [{ code: 'A01.0', description: 'Typhoid fever', text: 'culture' }],
  course: 'Settled',
  procedures: '',
  investigations: [
    { lab_result_id: 'r1', test: 'Haemoglobin (HB)', value: '9.1', unit: 'g/dL', abnormal: 'low', resulted_at: '2026-12-01T12:00:00.000Z', note: 'recheck' },
    { lab_result_id: null, test: '', value: '', unit: '', abnormal: '', resulted_at: null, note: 'X-ray clear' },
  ],
  medicines: [
    { medicine_id: 'm1', name: 'Paracetamol 650 mg tablet', dose: '1', dose_unit: 'tablet', schedule: '', days: null, prn: true, instructions: 'for fever' },
  ],
  advice: 'Rest',
  follow_up_on: '2026-12-10',
  follow_up_doctor_id: 'd1',
  follow_up_doctor_name: 'Dr Rao',
  written_by: 'u1',
  written_by_name: 'Dr Rao',
  written_at: '2026-12-01T12:00:00.000Z',
  finalised_at: null,
  finalised_by: null,
  finalised_by_name: '',
};

describe('discharge summary form', () => {
  it('round-trips a saved summary into the input the core takes', () => {
    const input = toSummaryInput('a1', formOf(saved));
    expect(input.diagnoses).toEqual([{ code: 'A01.0', text: 'culture' }]);
    expect(input.investigations).toEqual([
      { lab_result_id: 'r1', note: 'recheck' },
      { lab_result_id: null, note: 'X-ray clear' },
    ]);
    expect(input.medicines[0]).toEqual({
      medicine_id: 'm1', dose: '1', dose_unit: 'tablet', schedule: '', days: null, prn: true, instructions: 'for fever',
    });
    expect([input.follow_up_on, input.follow_up_doctor_id]).toEqual(['2026-12-10', 'd1']);
  });

  it('sends an empty follow-up and doctor as null, days as a number, and no schedule for PRN', () => {
    const form = formOf(null);
    const row = medicineRow({ id: 'm2', name: 'Amoxicillin', strength: '500 mg', form: 'capsule' });
    expect(row.name).toBe('Amoxicillin 500 mg capsule');
    form.medicines.push({ ...row, schedule: '1-1-1', days: '5' }, { ...row, schedule: '1-0-1', prn: true, days: '' });
    const input = toSummaryInput('a1', form);
    expect([input.follow_up_on, input.follow_up_doctor_id]).toEqual([null, null]);
    expect(input.medicines.map((m) => [m.schedule, m.days])).toEqual([['1-1-1', 5], ['', null]]);
  });

  it('labels a result with its value, unit and flag', () => {
    expect(resultLabel({ test: 'Glucose (GLU)', value: '5.4', unit: 'mmol/L', abnormal: 'normal' })).toBe('Glucose (GLU): 5.4 mmol/L');
    expect(resultLabel({ test: 'Hb', value: '9', unit: '', abnormal: 'high' })).toBe('Hb: 9 (high)');
  });
});
