// The toast store: short confirmations ("User created.") and errors not tied to a field.

export type ToastKind = 'success' | 'info' | 'error';

/** A button in a toast (e.g. "Open folder" after a print); the toast closes when it runs. */
export interface ToastAction {
  label: string;
  run: () => void;
}

export interface ToastItem {
  id: number;
  kind: ToastKind;
  message: string;
  action?: ToastAction;
}

const DURATION: Record<ToastKind, number> = { success: 5_000, info: 6_000, error: 10_000 };
const MAX_SHOWN = 4;

class Toasts {
  items = $state<ToastItem[]>([]);
  private nextId = 1;
  private timers = new Map<number, ReturnType<typeof setTimeout>>();

  show(kind: ToastKind, message: string, action?: ToastAction): number {
    const id = this.nextId++;
    this.items = [...this.items, { id, kind, message, ...(action ? { action } : {}) }].slice(-MAX_SHOWN);
    this.timers.set(
      id,
      setTimeout(() => this.dismiss(id), DURATION[kind]),
    );
    return id;
  }

  success(message: string, action?: ToastAction): number {
    return this.show('success', message, action);
  }

  info(message: string): number {
    return this.show('info', message);
  }

  error(message: string): number {
    return this.show('error', message);
  }

  dismiss(id: number): void {
    const timer = this.timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(id);
    this.items = this.items.filter((toast) => toast.id !== id);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.items = [];
  }
}

export const toasts = new Toasts();
