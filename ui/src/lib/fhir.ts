import {
  FHIR_IMPORT_MAX_BYTES,
  type ExportProgress,
  type FhirImportCount,
  type FhirImportProblem_Serialize as FhirImportProblem,
  type FhirImportProgress,
  type FhirImportReport_Serialize as FhirImportReport,
} from './bindings';
import { formatBytes } from './clinical';
import { hasMessage, t } from './i18n';

/** How far a clinic FHIR export is, 0-100 (rows read of all rows; 0 before the count). */
export function fhirExportPercent(p: ExportProgress | null): number {
  const total = p?.rows_total ?? 0;
  if (total <= 0) return 0;
  return Math.min(100, Math.floor(((p?.rows_done ?? 0) * 100) / total));
}

/** How far a FHIR import (or its preview) is, 0-100: patients done of all. */
export function fhirImportPercent(p: FhirImportProgress | null): number {
  const total = p?.patients_total ?? 0;
  if (total <= 0) return 0;
  return Math.min(100, Math.floor(((p?.patients_done ?? 0) * 100) / total));
}

/**
 * The first chosen file larger than the core reads, as a sentence, or null. The screen
 * refuses it before reading it (a webview cannot hold a 2 GB file as base64); the core
 * checks the size again before decoding.
 */
export function fhirFileTooBig(files: { name: string; size: number }[], max: number = FHIR_IMPORT_MAX_BYTES): string | null {
  const big = files.find((f) => f.size > max);
  if (!big) return null;
  return t('fhir.import.tooBig', { name: big.name, size: formatBytes(big.size), limit: formatBytes(max) });
}

/** The order HMS's records are listed in; other kinds follow by name. */
const KIND_ORDER = [
  'patients',
  'visits',
  'vitals',
  'lab_results',
  'diagnoses',
  'allergies',
  'prescriptions',
  'medicines',
  'lab_tests',
  'staff',
  'appointments',
];

/** One line of a count table: the kind in words (a FHIR type stays as it is) and its count. */
export interface CountRow {
  kind: string;
  label: string;
  count: number;
}

/**
 * Counts as table rows: HMS's records in words and in a fixed order (patients first); what
 * HMS does not store (`Observation (survey)`, `Claim`) named as the file names it.
 */
export function fhirCountRows(counts: FhirImportCount[]): CountRow[] {
  const rank = (kind: string) => {
    const i = KIND_ORDER.indexOf(kind);
    return i < 0 ? KIND_ORDER.length : i;
  };
  return counts
    .filter((c) => c.count > 0)
    .map((c) => {
      const key = `fhir.import.kind.${c.kind}`;
      return { kind: c.kind, label: hasMessage(key) ? t(key) : c.kind, count: c.count };
    })
    .sort((a, b) => rank(a.kind) - rank(b.kind) || a.kind.localeCompare(b.kind));
}

/** Records the import creates (or created), all kinds together. */
export function fhirCreatedTotal(report: FhirImportReport): number {
  return report.created.reduce((sum, c) => sum + c.count, 0);
}

/** Whether Import has anything to do: a preview that would create something. */
export function fhirCanImport(report: FhirImportReport | null): boolean {
  return !!report && !report.written && fhirCreatedTotal(report) > 0;
}

/** A stable key for a problem in a keyed list (the same resource can have several). */
export function fhirProblemKey(p: FhirImportProblem, index: number): string {
  return `${p.resource}|${p.field}|${index}`;
}
