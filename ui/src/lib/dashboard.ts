// Home's dashboards: the small pure rules the tiles show (the figures come from the core).

import type { ModeMoney, WardOccupancy } from './bindings';
import { numberFormat } from './i18n';

/** The payment modes that moved money (received or refunded), in the core's order. */
export function modesMoved(modes: readonly ModeMoney[]): ModeMoney[] {
  return modes.filter((m) => m.received !== 0 || m.refunded !== 0);
}

/** Basis points as a whole percent ("83%"), or "—" when there is no figure. */
export function percentText(bp: number | null | undefined): string {
  if (bp === null || bp === undefined) return '—';
  return numberFormat({ style: 'percent', maximumFractionDigits: 0 }).format(bp / 10_000);
}

/** A ward is full when no bed in service is free (the tile marks it). */
export function wardFull(w: Pick<WardOccupancy, 'beds' | 'out_of_service' | 'free'>): boolean {
  return w.beds - w.out_of_service > 0 && w.free === 0;
}

/** How long ago the figures were read, in whole minutes (never negative). */
export function minutesAgo(readAt: string, now: Date = new Date()): number {
  const t = Date.parse(readAt);
  if (Number.isNaN(t)) return 0;
  return Math.max(0, Math.floor((now.getTime() - t) / 60_000));
}
