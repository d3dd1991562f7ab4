// What the Users screen derives from a user summary.

import type { UserSummary } from './bindings';
import { parseInstant } from './i18n';

export type UserAction = 'deactivate' | 'reactivate' | 'unlock';

export type UserStatus = 'active' | 'inactive' | 'locked';

function lockedNow(user: UserSummary, now: number): boolean {
  if (!user.locked_until) return false;
  const until = parseInstant(user.locked_until);
  return until !== null && until.getTime() > now;
}

/** Inactive (deactivated) wins over locked (too many failed sign-ins), which wins over active. */
export function userStatus(user: UserSummary, now: number = Date.now()): UserStatus {
  if (!user.active) return 'inactive';
  if (lockedNow(user, now)) return 'locked';
  return 'active';
}

/** Unlock is offered while the account is locked or has failed sign-ins counting towards a lock. */
export function canUnlock(user: UserSummary, now: number = Date.now()): boolean {
  return lockedNow(user, now) || user.failed_attempts > 0;
}

/** Sorted by username; a changed or new user replaces the one with its id. */
export function upsertUser<T extends UserSummary>(users: readonly T[], user: T): T[] {
  const rest = users.filter((u) => u.id !== user.id);
  return [...rest, user].sort((a, b) => a.username.localeCompare(b.username));
}
