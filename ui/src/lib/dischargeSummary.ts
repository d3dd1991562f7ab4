// The discharge summary's form: what the screen edits (lists of diagnoses, investigations and
// medicines as rows) and the core's input made from it. The rules (lengths, days, the
// follow-up window, the ICD-10 check) are the core's; this only carries the values over.

import type {
  DischargeSummary,
  Investigation,
  Medicine,
  StayResult,
  SummaryDiagnosis,
  SummaryInput,
} from './bindings';

export interface MedicineRow {
  medicine_id: string;
  name: string;
  dose: string;
  dose_unit: string;
  schedule: string;
  /** A number field binds a number, or null while empty. */
  days: number | string | null;
  prn: boolean;
  instructions: string;
}

export interface InvestigationRow {
  lab_result_id: string | null;
  /** What the row shows: the test and its result, or nothing for a written one. */
  label: string;
  note: string;
}

export interface SummaryForm {
  diagnoses: SummaryDiagnosis[];
  course: string;
  procedures: string;
  investigations: InvestigationRow[];
  medicines: MedicineRow[];
  advice: string;
  follow_up_on: string;
  follow_up_doctor_id: string;
}

/** A stay's lab result as a line: "Haemoglobin (HB): 9.1 g/dL (low)". */
export function resultLabel(r: Pick<StayResult, 'test' | 'value' | 'unit' | 'abnormal'>): string {
  const value = `${r.value} ${r.unit}`.trim();
  const flag = r.abnormal === 'low' || r.abnormal === 'high' ? ` (${r.abnormal})` : '';
  return `${r.test}: ${value}${flag}`;
}

function investigationRow(i: Investigation): InvestigationRow {
  return { lab_result_id: i.lab_result_id ?? null, label: i.test ? resultLabel(i) : '', note: i.note };
}

/** The form of a saved summary, or an empty one. */
export function formOf(s: DischargeSummary | null): SummaryForm {
  return {
    diagnoses: s ? s.diagnoses.map((d) => ({ ...d })) : [],
    course: s?.course ?? '',
    procedures: s?.procedures ?? '',
    investigations: s ? s.investigations.map(investigationRow) : [],
    medicines: s
      ? s.medicines.map((m) => ({
          medicine_id: m.medicine_id,
          name: m.name,
          dose: m.dose,
          dose_unit: m.dose_unit,
          schedule: m.schedule,
          days: m.days ?? null,
          prn: m.prn,
          instructions: m.instructions,
        }))
      : [],
    advice: s?.advice ?? '',
    follow_up_on: s?.follow_up_on ?? '',
    follow_up_doctor_id: s?.follow_up_doctor_id ?? '',
  };
}

/** A new medicine row for a medicine of the list (its form as the unit to start with). */
export function medicineRow(m: Pick<Medicine, 'id' | 'name' | 'strength' | 'form'>): MedicineRow {
  const name = [m.name, m.strength, m.form].filter((s) => s && s.trim()).join(' ');
  return { medicine_id: m.id, name, dose: '1', dose_unit: m.form, schedule: '', days: null, prn: false, instructions: '' };
}

/** Days as the core takes them: a whole number, or null (empty; anything else is sent as typed for the core to refuse). */
function days(raw: number | string | null): number | null {
  if (raw === null || raw === '') return null;
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
  return Number.isFinite(n) ? n : null;
}

/** The core's input from the form. */
export function toSummaryInput(admissionId: string, f: SummaryForm): SummaryInput {
  return {
    admission_id: admissionId,
    diagnoses: f.diagnoses.map((d) => ({ code: d.code, text: d.text })),
    course: f.course,
    procedures: f.procedures,
    investigations: f.investigations.map((i) => ({ lab_result_id: i.lab_result_id, note: i.note })),
    medicines: f.medicines.map((m) => ({
      medicine_id: m.medicine_id,
      dose: m.dose,
      dose_unit: m.dose_unit,
      schedule: m.prn ? '' : m.schedule,
      days: days(m.days),
      prn: m.prn,
      instructions: m.instructions,
    })),
    advice: f.advice,
    follow_up_on: f.follow_up_on || null,
    follow_up_doctor_id: f.follow_up_doctor_id || null,
  };
}
