/**
 * How many pieces of work each key (an org) has in progress in this process, with at most
 * `max` each. Taking a share is synchronous, so work started in one burst cannot race
 * past the cap, and a refusal costs no I/O.
 */
export class InFlightShares {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** A function that gives the share back (once, however often it is called), or undefined when `key` holds `max` already. */
  take(key: string): (() => void) | undefined {
    const held = this.counts.get(key) ?? 0;
    if (held >= this.max) return undefined;
    this.counts.set(key, held + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }

  /** Work `key` has in progress now. */
  held(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
