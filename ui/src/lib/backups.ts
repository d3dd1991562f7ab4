// This device's backups as the screens word them: the last good backup's age (and when the
// Home warns), a backup's size, and the progress of "Back up now".

import type { BackupPhase, BackupProgress } from './bindings';
import { formatNumber, t } from './i18n';

/** The Home warns when there is no good backup or the last is this old (as the core's `stale`). */
export const STALE_AFTER_SECONDS = 24 * 60 * 60;

/** "just now", "5 minutes ago", "2 hours ago", "3 days ago"; "no backup yet" without one. */
export function backupAgeText(ageSeconds: number | null | undefined): string {
  if (ageSeconds === null || ageSeconds === undefined || !Number.isFinite(ageSeconds)) return t('backups.age.none');
  const s = Math.max(0, ageSeconds);
  if (s < 60) return t('backups.age.justNow');
  if (s < 3600) return t('backups.age.minutes', { count: Math.floor(s / 60) });
  if (s < 2 * 86400) return t('backups.age.hours', { count: Math.floor(s / 3600) });
  return t('backups.age.days', { count: Math.floor(s / 86400) });
}

/** Whether the Home tile warns: no good backup, or the last is 24 hours old or more. */
export function backupWarns(ageSeconds: number | null | undefined): boolean {
  return ageSeconds === null || ageSeconds === undefined || !Number.isFinite(ageSeconds) || ageSeconds >= STALE_AFTER_SECONDS;
}

/** The Home tile's words: the age, and the warning when it warns. */
export function backupTile(ageSeconds: number | null | undefined): { age: string; warning: string | null } {
  const age = backupAgeText(ageSeconds);
  if (!backupWarns(ageSeconds)) return { age, warning: null };
  const none = ageSeconds === null || ageSeconds === undefined || !Number.isFinite(ageSeconds);
  return { age, warning: t(none ? 'backups.tile.warnNone' : 'backups.tile.warnOld') };
}

/** Bytes as MB with one decimal ("304.2 MB"), KB under a megabyte. */
export function formatBytes(size: number | null): string {
  const bytes = size ?? 0;
  if (bytes < 1_000_000) return t('backups.size.kb', { n: formatNumber(Math.max(0, bytes) / 1000, { maximumFractionDigits: 0 }) });
  return t('backups.size.mb', { n: formatNumber(bytes / 1_000_000, { maximumFractionDigits: 1 }) });
}

/** How much of the whole backup each phase is (the database copy is most of it). */
const PHASES: Record<BackupPhase, { start: number; share: number }> = {
  database: { start: 0, share: 0.6 },
  attachments: { start: 0.6, share: 0.2 },
  verify: { start: 0.8, share: 0.2 },
};

/** The whole backup's progress in percent (0 to 100), from a phase's report. */
export function backupPercent(p: BackupProgress | null | undefined): number {
  if (!p) return 0;
  const phase = PHASES[p.phase] ?? { start: 0, share: 1 };
  const f = p.fraction !== null && Number.isFinite(p.fraction) ? Math.min(1, Math.max(0, p.fraction)) : 0;
  return Math.floor((phase.start + phase.share * f) * 100);
}
