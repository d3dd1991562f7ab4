// Roles and navigation areas as the UI words them.

import type { Area, Role } from './bindings';
import { formatList, t, type MessageKey } from './i18n';

/** All roles, in the order forms list them. */
export const ROLES: readonly Role[] = [
  'admin',
  'doctor',
  'nurse',
  'receptionist',
  'pharmacist',
  'lab_technician',
  'accountant',
];

const ROLE_KEYS: Record<Role, MessageKey> = {
  admin: 'role.admin',
  doctor: 'role.doctor',
  nurse: 'role.nurse',
  receptionist: 'role.receptionist',
  pharmacist: 'role.pharmacist',
  lab_technician: 'role.lab_technician',
  accountant: 'role.accountant',
};

export function roleLabel(role: Role): string {
  const key = ROLE_KEYS[role];
  return key ? t(key) : role;
}

/** "Doctor and Nurse" (in the order of ROLES, whatever order they came in). */
export function roleList(roles: readonly Role[]): string {
  const sorted = [...roles].sort((a, b) => ROLES.indexOf(a) - ROLES.indexOf(b));
  return formatList(sorted.map(roleLabel));
}

/** The areas of the navigation, in menu order, with their label and Home description. */
export const AREAS: readonly { area: Area; label: MessageKey; description: MessageKey }[] = [
  { area: 'patients', label: 'nav.patients', description: 'home.area.patients' },
  { area: 'appointments', label: 'nav.appointments', description: 'home.area.appointments' },
  { area: 'clinical', label: 'nav.clinical', description: 'home.area.clinical' },
  { area: 'staff', label: 'nav.staff', description: 'home.area.staff' },
  { area: 'billing', label: 'nav.billing', description: 'home.area.billing' },
  { area: 'tariff', label: 'nav.tariff', description: 'home.area.tariff' },
  { area: 'users', label: 'nav.users', description: 'home.area.users' },
  { area: 'audit', label: 'nav.audit', description: 'home.area.audit' },
  { area: 'settings', label: 'nav.settings', description: 'home.area.settings' },
  { area: 'reports', label: 'nav.reports', description: 'home.area.reports' },
];

/** The areas the session may use, in menu order; unknown areas (a newer backend) are left out. */
export function visibleAreas(areas: readonly Area[]): typeof AREAS {
  return AREAS.filter((a) => areas.includes(a.area));
}
