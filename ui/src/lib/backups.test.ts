import { describe, expect, it } from 'vitest';
import { backupAgeText, backupPercent, backupTile, backupWarns, formatBytes, STALE_AFTER_SECONDS } from './backups';

describe('the last good backup’s age', () => {
  it('is worded from just now to days', () => {
    expect(backupAgeText(0)).toBe('just now');
    expect(backupAgeText(59)).toBe('just now');
    expect(backupAgeText(60)).toBe('1 minute ago');
    expect(backupAgeText(45 * 60)).toBe('45 minutes ago');
    expect(backupAgeText(3600)).toBe('1 hour ago');
    expect(backupAgeText(2 * 3600 + 59 * 60)).toBe('2 hours ago');
    expect(backupAgeText(47 * 3600)).toBe('47 hours ago');
    expect(backupAgeText(2 * 86400)).toBe('2 days ago');
    expect(backupAgeText(-5)).toBe('just now');
    expect(backupAgeText(null)).toBe('no backup yet');
  });

  it('warns from 24 hours, and when there is none', () => {
    expect(backupWarns(STALE_AFTER_SECONDS - 1)).toBe(false);
    expect(backupWarns(STALE_AFTER_SECONDS)).toBe(true);
    expect(backupWarns(null)).toBe(true);
    expect(backupTile(2 * 3600)).toEqual({ age: '2 hours ago', warning: null });
    expect(backupTile(25 * 3600).warning).toMatch(/more than a day old/);
    expect(backupTile(null).warning).toMatch(/never been backed up/);
  });
});

describe('a backup’s size and progress', () => {
  it('is in KB or MB', () => {
    expect(formatBytes(20_480)).toBe('20 KB');
    expect(formatBytes(304_200_000)).toBe('304.2 MB');
  });

  it('runs through the phases to 100%', () => {
    expect(backupPercent(null)).toBe(0);
    expect(backupPercent({ phase: 'database', fraction: 0.5 })).toBe(30);
    expect(backupPercent({ phase: 'attachments', fraction: 0 })).toBe(60);
    expect(backupPercent({ phase: 'verify', fraction: 1 })).toBe(100);
    expect(backupPercent({ phase: 'verify', fraction: Number.NaN })).toBe(80);
  });
});
