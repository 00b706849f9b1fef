/**
 * One call in flight per key: callers asking for a key while its call runs share that
 * call's promise instead of starting their own; the next ask after it settles starts anew.
 */
export class SingleFlight<Key> {
  private readonly running = new Map<Key, Promise<void>>();

  /** `call()` for `key`, or the one already running for it. */
  run(key: Key, call: () => Promise<void>): Promise<void> {
    let running = this.running.get(key);
    if (!running) {
      running = call().finally(() => this.running.delete(key));
      this.running.set(key, running);
    }
    return running;
  }
}
