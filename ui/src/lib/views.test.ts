import { describe, expect, it } from 'vitest';
import type { Area, UserSummary } from './bindings';
import { actionLabel, describeDetail, pageRange } from './audit';
import { shortId, withoutField } from './forms';
import { ROLES, roleLabel, roleList, visibleAreas } from './roles';
import { canUnlock, upsertUser, userStatus } from './users';

const NOW = Date.parse('2026-03-04T10:00:00Z');

function user(patch: Partial<UserSummary> = {}): UserSummary {
  return {
    id: 'u1',
    username: 'ravi.k',
    full_name: 'Ravi Kumar',
    roles: ['receptionist'],
    active: true,
    locked_until: null,
    failed_attempts: 0,
    must_change_password: false,
    created_at: '2026-03-01T10:00:00Z',
    updated_at: '2026-03-01T10:00:00Z',
    ...patch,
  };
}

describe('roles', () => {
  it('has a human label for all seven roles', () => {
    expect(ROLES).toHaveLength(7);
    for (const role of ROLES) {
      expect(roleLabel(role)).not.toBe(role);
      expect(roleLabel(role).trim()).not.toBe('');
    }
    expect(roleLabel('lab_technician')).toBe('Lab technician');
  });

  it('lists roles in the standard order', () => {
    expect(roleList(['nurse', 'admin'])).toBe('Administrator and Nurse');
  });

  it('offers only the areas of the session, in menu order, ignoring unknown ones', () => {
    expect(visibleAreas(['settings', 'users']).map((a) => a.area)).toEqual(['users', 'settings']);
    expect(visibleAreas([])).toEqual([]);
    expect(visibleAreas(['wards' as Area, 'audit']).map((a) => a.area)).toEqual(['audit']);
    expect(visibleAreas(['settings', 'patients']).map((a) => a.area)).toEqual(['patients', 'settings']);
  });
});

describe('user status', () => {
  it('is active, locked while locked_until is ahead, inactive when deactivated', () => {
    expect(userStatus(user(), NOW)).toBe('active');
    expect(userStatus(user({ locked_until: '2026-03-04T10:15:00Z' }), NOW)).toBe('locked');
    expect(userStatus(user({ locked_until: '2026-03-04T09:15:00Z' }), NOW)).toBe('active');
    expect(userStatus(user({ active: false, locked_until: '2026-03-04T10:15:00Z' }), NOW)).toBe('inactive');
  });

  it('offers unlock while locked or with failed attempts', () => {
    expect(canUnlock(user(), NOW)).toBe(false);
    expect(canUnlock(user({ failed_attempts: 2 }), NOW)).toBe(true);
    expect(canUnlock(user({ locked_until: '2026-03-04T10:15:00Z' }), NOW)).toBe(true);
    expect(canUnlock(user({ locked_until: '2026-03-04T09:15:00Z' }), NOW)).toBe(false);
  });

  it('replaces a user by id and keeps the list sorted by username', () => {
    const list = [user({ id: 'a', username: 'asha' }), user({ id: 'r', username: 'ravi' })];
    const added = upsertUser(list, user({ id: 'm', username: 'meera' }));
    expect(added.map((u) => u.username)).toEqual(['asha', 'meera', 'ravi']);
    const changed = upsertUser(added, user({ id: 'a', username: 'asha', full_name: 'Asha M' }));
    expect(changed).toHaveLength(3);
    expect(changed[0]!.full_name).toBe('Asha M');
  });
});

describe('audit entries', () => {
  it('labels known actions and shows unknown ones as they are', () => {
    expect(actionLabel('auth.sign_in')).toBe('Signed in');
    expect(actionLabel('ward.admit')).toBe('ward.admit');
  });

  it('describes the JSON detail as one line', () => {
    expect(describeDetail('{"username":"ravi.k","reason":"idle"}')).toBe('username: ravi.k; reason: idle');
    expect(describeDetail('{"before":{"roles":["nurse"]},"after":15}')).toBe('before: {"roles":["nurse"]}; after: 15');
    expect(describeDetail('{"roles":["doctor","nurse"],"note":null}')).toBe('roles: doctor, nurse; note: —');
    expect(describeDetail('{}')).toBe('');
    expect(describeDetail('not json')).toBe('not json');
    expect(describeDetail('')).toBe('');
  });

  it('computes the range shown on a page', () => {
    expect(pageRange(0, 50, 120)).toEqual({ first: 1, last: 50 });
    expect(pageRange(100, 20, 120)).toEqual({ first: 101, last: 120 });
    expect(pageRange(0, 0, 0)).toEqual({ first: 0, last: 0 });
  });
});

describe('form helpers', () => {
  it('shortens ids to their random tail', () => {
    expect(shortId('0195f3a2-7b4c-7d10-8e2f-1a2b3c4d5e6f')).toBe('…3c4d5e6f');
    expect(shortId('short')).toBe('short');
    expect(shortId('idle_timeout_minutes')).toBe('idle_timeout_minutes');
    expect(shortId(null)).toBe('');
  });

  it('removes one field error', () => {
    expect(withoutField({ a: 'x', b: 'y' }, 'a')).toEqual({ b: 'y' });
    const same = { a: 'x' };
    expect(withoutField(same, 'b')).toBe(same);
  });
});
