/** How long after its last piece of work an org still counts as active here: a client working one request at a time is between requests most of the time. */
const ACTIVE_FOR_MS = 1000;

/**
 * How long a piece of work counts against its org's share: one still running after this is
 * waiting on something other than the loop (a lease's wait, a slow store), so it stops
 * counting, and an org's waiting requests cannot hold back the very requests that would end
 * them (a release behind the lease requests waiting for it).
 */
const COUNTED_FOR_MS = 1000;

/** What BusyLoopShare needs to know of the event loop (EventLoopLoad). */
export interface LoopLoad {
  readonly busy: boolean;
  onSample(listener: () => void): void;
}

interface OrgShare {
  /** Points of the pieces running and still counted. */
  running: number;
  /** The pieces running and still counted, with when they started. */
  counted: Map<() => void, { points: number; startedAt: number }>;
  /** Pieces waiting, in arrival order, with their points. */
  waiting: { points: number; start: () => void }[];
}

/**
 * The event loop's fair share between orgs while it is saturated: when the loop is busy and
 * more than one org has been active here within the last second, an org whose running
 * pieces of work would come to more than `busyMax` points with the next waits for some to
 * end (or for the loop to have room) before it starts it; a piece costs more points the
 * more it does (a long list more than a create), and an org running nothing may always
 * start one. Orgs under their share go straight through; one org alone, or a loop with
 * room, is not held back. Waiting costs the loop nothing, so a flooding org's excess waits
 * on itself while a quiet org's work finds the loop with room in it.
 */
export class BusyLoopShare {
  private readonly orgs = new Map<string, OrgShare>();
  private readonly lastSeen = new Map<string, number>();
  /** Pieces of work that had to wait, since the process started. */
  heldTotal = 0;

  constructor(
    private readonly load: LoopLoad,
    readonly busyMax: number,
    private readonly now: () => number = Date.now,
  ) {
    load.onSample(() => this.sampled());
  }

  /**
   * Resolves, once `org` may start a piece of work of `points`, with the function that
   * ends it (once, however often called).
   */
  turn(org: string, points = 1): Promise<() => void> {
    this.lastSeen.set(org, this.now());
    let entry = this.orgs.get(org);
    if (!entry) this.orgs.set(org, (entry = { running: 0, counted: new Map(), waiting: [] }));
    const share = entry;
    const start = () => {
      share.running += points;
      const end = () => {
        if (!share.counted.delete(end)) return;
        share.running -= points;
        this.startWaiting(share, this.holding());
        if (share.running === 0 && !share.waiting.length) this.orgs.delete(org);
      };
      share.counted.set(end, { points, startedAt: this.now() });
      return end;
    };
    if (share.waiting.length === 0 && this.fits(share, points, this.holding())) return Promise.resolve(start());
    this.heldTotal++;
    return new Promise((resolve) => share.waiting.push({ points, start: () => resolve(start()) }));
  }

  /** Pieces of work of `org` waiting for the loop. */
  waiting(org: string): number {
    return this.orgs.get(org)?.waiting.length ?? 0;
  }

  /** Whether orgs past `busyMax` wait: the loop is busy and it is shared. */
  private holding(): boolean {
    return this.load.busy && this.lastSeen.size > 1;
  }

  private fits(share: OrgShare, points: number, holding: boolean): boolean {
    return !holding || share.running === 0 || share.running + points <= this.busyMax;
  }

  /** Starts the org's waiting pieces, in order, while the next fits. */
  private startWaiting(share: OrgShare, holding: boolean): void {
    while (share.waiting.length && this.fits(share, share.waiting[0]!.points, holding)) share.waiting.shift()!.start();
  }

  private sampled(): void {
    const now = this.now();
    for (const [org, seen] of this.lastSeen) if (seen < now - ACTIVE_FOR_MS && !this.orgs.has(org)) this.lastSeen.delete(org);
    for (const [org, share] of this.orgs) {
      if (!share.waiting.length) continue;
      for (const [end, piece] of share.counted) {
        if (piece.startedAt > now - COUNTED_FOR_MS) continue;
        share.counted.delete(end);
        share.running -= piece.points;
      }
      this.startWaiting(share, this.holding());
      if (share.running === 0 && !share.waiting.length) this.orgs.delete(org);
    }
    // With room in the loop again, whatever waited starts.
    if (!this.holding()) for (const share of this.orgs.values()) this.startWaiting(share, false);
  }
}
