import type { ExportProgress } from './bindings';

/** How far a clinic FHIR export is, 0-100 (rows read of all rows; 0 before the count). */
export function fhirExportPercent(p: ExportProgress | null): number {
  const total = p?.rows_total ?? 0;
  if (total <= 0) return 0;
  return Math.min(100, Math.floor(((p?.rows_done ?? 0) * 100) / total));
}
