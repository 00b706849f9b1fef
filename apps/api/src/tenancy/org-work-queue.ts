/**
 * A fair queue of work per key (an org): at most `concurrency` pieces of one key run at
 * once in this process, at most `maxWaiting` more wait their turn in arrival order. A
 * flooding key therefore waits on itself, costing nothing while it waits, and every other
 * key's work runs beside it as soon as it arrives.
 */
export class OrgWorkQueue {
  private readonly keys = new Map<string, { running: number; waiting: (() => void)[] }>();

  constructor(
    readonly concurrency: number,
    readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * Resolves, once `key` may start one more piece of work, with the function that ends it
   * (once, however often called); undefined at once when `maxWaiting` already wait.
   */
  turn(key: string): Promise<() => void> | undefined {
    let entry = this.keys.get(key);
    if (!entry) this.keys.set(key, (entry = { running: 0, waiting: [] }));
    const held = entry;
    const end = () => {
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        const next = held.waiting.shift();
        if (next) return next();
        if (--held.running === 0) this.keys.delete(key);
      };
    };
    if (held.running < this.concurrency) {
      held.running++;
      return Promise.resolve(end());
    }
    if (held.waiting.length >= this.maxWaiting) return undefined;
    // The place of the work that ends is handed straight to the next in line, so `running` stays as it is.
    return new Promise((resolve) => held.waiting.push(() => resolve(end())));
  }

  /** Pieces of work of `key` waiting for their turn. */
  waiting(key: string): number {
    return this.keys.get(key)?.waiting.length ?? 0;
  }
}
