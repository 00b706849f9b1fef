/** How long after its last piece of work an org still counts as active here: a client working one request at a time is between requests most of the time. */
const ACTIVE_FOR_MS = 1000;

/** What BusyLoopShare needs to know of the event loop (EventLoopLoad). */
export interface LoopLoad {
  readonly busy: boolean;
  onSample(listener: () => void): void;
}

interface OrgShare {
  /** Points of the pieces running. */
  running: number;
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
  ) {
    load.onSample(() => this.sampled());
  }

  /**
   * Resolves, once `org` may start a piece of work of `points`, with the function that
   * ends it (once, however often called).
   */
  turn(org: string, points = 1): Promise<() => void> {
    this.lastSeen.set(org, Date.now());
    let entry = this.orgs.get(org);
    if (!entry) this.orgs.set(org, (entry = { running: 0, waiting: [] }));
    const share = entry;
    const end = () => {
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        share.running -= points;
        this.startWaiting(share, this.holding());
        if (share.running === 0 && !share.waiting.length) this.orgs.delete(org);
      };
    };
    if (share.waiting.length === 0 && this.fits(share, points, this.holding())) {
      share.running += points;
      return Promise.resolve(end());
    }
    this.heldTotal++;
    return new Promise((resolve) => share.waiting.push({ points, start: () => resolve(end()) }));
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
    while (share.waiting.length && this.fits(share, share.waiting[0]!.points, holding)) {
      const next = share.waiting.shift()!;
      share.running += next.points;
      next.start();
    }
  }

  private sampled(): void {
    const since = Date.now() - ACTIVE_FOR_MS;
    for (const [org, seen] of this.lastSeen) if (seen < since && !this.orgs.has(org)) this.lastSeen.delete(org);
    // With room in the loop again, whatever waited starts.
    if (!this.holding()) for (const share of this.orgs.values()) this.startWaiting(share, false);
  }
}
