import { describe, expect, it } from 'vitest';
import { minutesAgo, modesMoved, percentText, wardFull } from './dashboard';

describe('dashboard', () => {
  it('lists only the modes that moved money, in order', () => {
    const modes = [
      { mode: 'cash' as const, received: 100, refunded: 0 },
      { mode: 'card' as const, received: 0, refunded: 0 },
      { mode: 'upi' as const, received: 0, refunded: 5 },
    ];
    expect(modesMoved(modes).map((m) => m.mode)).toEqual(['cash', 'upi']);
  });

  it('shows basis points as a whole percent, or a dash without a figure', () => {
    expect(percentText(5_000)).toBe('50%');
    expect(percentText(8_333)).toBe('83%');
    expect(percentText(null)).toBe('—');
  });

  it('marks a ward full when no bed in service is free', () => {
    expect(wardFull({ beds: 3, out_of_service: 1, free: 0 })).toBe(true);
    expect(wardFull({ beds: 3, out_of_service: 1, free: 1 })).toBe(false);
    expect(wardFull({ beds: 1, out_of_service: 1, free: 0 })).toBe(false);
  });

  it('counts whole minutes since the figures were read', () => {
    const now = new Date('2026-03-15T04:30:59Z');
    expect(minutesAgo('2026-03-15T04:28:00.000Z', now)).toBe(2);
    expect(minutesAgo('2026-03-15T04:40:00.000Z', now)).toBe(0);
    expect(minutesAgo('not a time', now)).toBe(0);
  });
});
