import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActivityMonitor } from './activity';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-01-01T08:00:00Z'));
});
afterEach(() => vi.useRealTimers());

function monitor(idleMinutes = 15) {
  const onIdle = vi.fn();
  const onHeartbeat = vi.fn();
  const m = new ActivityMonitor({ idleMs: idleMinutes * 60_000, onIdle, onHeartbeat });
  return { m, onIdle, onHeartbeat };
}

describe('ActivityMonitor', () => {
  it('locks after the idle time without activity, once', () => {
    const { m, onIdle } = monitor(15);
    vi.advanceTimersByTime(15 * 60_000 - 1);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
    expect(m.running).toBe(false);
    vi.advanceTimersByTime(60 * 60_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('counts the idle time from the last activity', () => {
    const { m, onIdle } = monitor(15);
    vi.advanceTimersByTime(10 * 60_000);
    m.activity();
    vi.advanceTimersByTime(10 * 60_000);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5 * 60_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('sends a heartbeat at most once a minute while active', () => {
    const { m, onHeartbeat } = monitor(15);
    for (let second = 1; second <= 150; second++) {
      vi.advanceTimersByTime(1_000);
      m.activity();
    }
    // Activity every second for 150 s: heartbeats at 60 s and 120 s only.
    expect(onHeartbeat).toHaveBeenCalledTimes(2);
  });

  it('beats at least twice per idle period when the idle time is short', () => {
    const { m, onHeartbeat, onIdle } = monitor(1);
    for (let second = 1; second <= 120; second++) {
      vi.advanceTimersByTime(1_000);
      m.activity();
    }
    // Idle time 60 s: a heartbeat every 30 s, so the backend never sees 60 s without one.
    expect(onHeartbeat).toHaveBeenCalledTimes(4);
    expect(onIdle).not.toHaveBeenCalled();
  });

  it('sends no heartbeat without activity', () => {
    const { onHeartbeat } = monitor(15);
    vi.advanceTimersByTime(14 * 60_000);
    expect(onHeartbeat).not.toHaveBeenCalled();
  });

  it('does nothing after stop', () => {
    const { m, onIdle, onHeartbeat } = monitor(1);
    m.stop();
    vi.advanceTimersByTime(5 * 60_000);
    m.activity();
    expect(onIdle).not.toHaveBeenCalled();
    expect(onHeartbeat).not.toHaveBeenCalled();
  });

  it('locks, rather than counting it as activity, when woken after the idle time', () => {
    const { m, onIdle, onHeartbeat } = monitor(15);
    // The computer slept: the clock moved on but the timer has not fired yet.
    vi.setSystemTime(new Date('2026-01-01T09:00:00Z'));
    m.activity();
    expect(onIdle).toHaveBeenCalledTimes(1);
    expect(onHeartbeat).not.toHaveBeenCalled();
  });
});
