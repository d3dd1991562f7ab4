// The idle timer and the activity heartbeat of a signed-in session.
//
// `activity()` is called on every mouse, key or touch event (cheap: it only records the time).
// After `idleMs` without activity `onIdle` runs once and the monitor stops. While the person
// is active, `onHeartbeat` runs at most once per `heartbeatMs` (a minute, or half the idle
// time if that is shorter) so the backend's own idle clock keeps the session alive during long
// form filling with no other command.

export interface ActivityOptions {
  idleMs: number;
  onIdle: () => void;
  onHeartbeat: () => void;
  heartbeatMs?: number;
  now?: () => number;
}

export const HEARTBEAT_MS = 60_000;

export class ActivityMonitor {
  private readonly idleMs: number;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly onIdle: () => void;
  private readonly onHeartbeat: () => void;
  private lastActivity: number;
  private lastHeartbeat: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(options: ActivityOptions) {
    this.idleMs = Math.max(1_000, options.idleMs);
    // With a very short idle time, beat at least twice per idle period, or the backend (which
    // counts idle time from the last command) would lock a person who is still working.
    this.heartbeatMs = Math.min(options.heartbeatMs ?? HEARTBEAT_MS, this.idleMs / 2);
    this.now = options.now ?? Date.now;
    this.onIdle = options.onIdle;
    this.onHeartbeat = options.onHeartbeat;
    // Starting (sign-in, unlock) counts as activity the backend has already seen.
    this.lastActivity = this.now();
    this.lastHeartbeat = this.lastActivity;
    this.schedule(this.idleMs);
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Records activity; sends a heartbeat when the last one is `heartbeatMs` old or more. */
  activity(): void {
    if (this.stopped) return;
    const now = this.now();
    // A timer that fired late (the computer slept) must not count the wake-up as activity.
    if (now - this.lastActivity >= this.idleMs) {
      this.check();
      return;
    }
    this.lastActivity = now;
    if (now - this.lastHeartbeat >= this.heartbeatMs) {
      this.lastHeartbeat = now;
      this.onHeartbeat();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), Math.max(0, ms));
  }

  private check(): void {
    if (this.stopped) return;
    const idleFor = this.now() - this.lastActivity;
    if (idleFor >= this.idleMs) {
      this.stop();
      this.onIdle();
    } else {
      this.schedule(this.idleMs - idleFor);
    }
  }
}
