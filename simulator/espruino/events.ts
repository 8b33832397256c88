/**
 * Espruino's EventEmitter methods on built-in objects (Serial1, E...): on/addListener, removeListener,
 * removeAllListeners, emit, listeners. Hardware events reach the listeners from the event loop.
 */
import type { EspruinoSession } from './session';

export class EspruinoEvents {
  private readonly listenerMap = new Map<string, unknown[]>();

  constructor(protected readonly session: EspruinoSession) {}

  on(event: unknown, listener: unknown): void {
    this.session.assertAlive();
    if (typeof listener !== 'function') throw this.session.realm.error('Expecting a function', 'TypeError');
    const name = String(event);
    const list = this.listenerMap.get(name) ?? [];
    list.push(listener);
    this.listenerMap.set(name, list);
  }

  addListener(event: unknown, listener: unknown): void {
    this.on(event, listener);
  }

  removeListener(event: unknown, listener: unknown): void {
    const list = this.listenerMap.get(String(event));
    if (!list) return;
    const index = list.indexOf(listener);
    if (index >= 0) list.splice(index, 1);
  }

  removeAllListeners(event?: unknown): void {
    if (event === undefined) this.listenerMap.clear();
    else this.listenerMap.delete(String(event));
  }

  listeners(event: unknown): unknown[] {
    return this.session.realm.array(this.listenerMap.get(String(event)) ?? []);
  }

  /** emit() called by firmware runs the listeners at once, in order. */
  emit(event: unknown, ...args: unknown[]): void {
    this.session.assertAlive();
    for (const listener of (this.listenerMap.get(String(event)) ?? []).slice()) {
      (listener as (...values: unknown[]) => void).apply(this, args);
    }
  }

  hasListeners(event: string): boolean {
    return (this.listenerMap.get(event)?.length ?? 0) > 0;
  }

  /** Deliver a hardware event: each listener is one dispatch of the event loop. */
  emitFromEventLoop(event: string, args: unknown[]): void {
    for (const listener of (this.listenerMap.get(event) ?? []).slice()) this.session.invoke(listener, this, args);
  }
}
