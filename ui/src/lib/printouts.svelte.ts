// Printouts: the PDFs printed for a patient, a bill or a visit (recorded by the core with
// each print), what each is called on screen, and the exports folder they are saved in.

import { commands, type Printout } from './bindings';
import { call } from './app.svelte';
import { errorMessage } from './errors';
import { t } from './i18n';
import { toasts } from './toast.svelte';

const KIND_KEYS = {
  id_card: 'printouts.kind.id_card',
  invoice: 'printouts.kind.invoice',
  receipt: 'printouts.kind.receipt',
  prescription: 'printouts.kind.prescription',
  lab_report: 'printouts.kind.lab_report',
  visit_summary: 'printouts.kind.visit_summary',
  discharge_summary: 'printouts.kind.discharge_summary',
  dispensing_labels: 'printouts.kind.dispensing_labels',
} as const satisfies Record<Printout['kind'], string>;

/** What a printout is, in words: "Invoice INV-2026-0001", "Receipt R-0007", "Lab requisition". */
export function printoutLabel(p: Pick<Printout, 'kind' | 'reference'>): string {
  switch (p.kind) {
    case 'invoice':
      return p.reference && p.reference !== 'pro-forma' ? `${t(KIND_KEYS.invoice)} ${p.reference}` : t('printouts.proforma');
    case 'receipt':
      return p.reference ? `${t(KIND_KEYS.receipt)} ${p.reference}` : t(KIND_KEYS.receipt);
    case 'lab_report':
      return p.reference === 'requisition' ? t('printouts.kind.lab_requisition') : t(KIND_KEYS.lab_report);
    default:
      return t(KIND_KEYS[p.kind]);
  }
}

/** Who printed it: "by Asha Menon", or a note when the account is not on this device. */
export function printedBy(p: Pick<Printout, 'printed_by_name'>): string {
  return p.printed_by_name ? t('printouts.by', { name: p.printed_by_name }) : t('printouts.byUnknown');
}

class PrintoutsState {
  /** Bumped after every print, so that the lists on screen load again. */
  version = $state(0);
  /** The exports folder's path, once asked. */
  folder = $state<string | null>(null);
}

export const printoutsState = new PrintoutsState();

/** Something was printed: the printouts lists load again. */
export function printed(): void {
  printoutsState.version += 1;
}

/** The exports folder's path (asked once per session of the screen). */
export async function loadExportsFolder(): Promise<void> {
  if (printoutsState.folder !== null) return;
  const r = await call(() => commands.exportsFolder());
  if (r.status === 'ok') printoutsState.folder = r.data;
}

/** Opens the exports folder in the system's file manager. */
export async function openExportsFolder(): Promise<void> {
  const r = await call(() => commands.openExportsFolder());
  if (r.status === 'ok') {
    printoutsState.folder = r.data.path;
    if (r.data.opened) toasts.info(t('printouts.folderOpened', { path: r.data.path }));
    else toasts.info(t('printouts.folderNotOpened', { path: r.data.path }));
  } else if (!r.handled) toasts.error(t('printouts.failed', { reason: errorMessage(r.error) }));
}

/** The toast after a PDF was saved (with an Open folder action); the lists load again. */
export function toastPrinted(message: string): void {
  printed();
  toasts.success(message, { label: t('printouts.openFolder'), run: () => void openExportsFolder() });
}
