import { BusyLoopShare, type LoopLoad } from './busy-loop-share.js';

/** A loop whose busyness the test sets, sampled when the test says. */
class SetLoad implements LoopLoad {
  busy = false;
  private readonly listeners: (() => void)[] = [];
  onSample(listener: () => void): void {
    this.listeners.push(listener);
  }
  sample(busy: boolean): void {
    this.busy = busy;
    for (const listener of this.listeners) listener();
  }
}

/** Whether `promise` has settled once pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('BusyLoopShare', () => {
  it('holds nobody while the loop has room', async () => {
    const share = new BusyLoopShare(new SetLoad(), 1);
    await share.turn('a');
    await share.turn('b');
    expect(await settled(share.turn('a'))).toBe(true);
    expect(share.heldTotal).toBe(0);
  });

  it('does not hold back an org alone on a busy loop', async () => {
    const load = new SetLoad();
    load.busy = true;
    const share = new BusyLoopShare(load, 1);
    await share.turn('a');
    expect(await settled(share.turn('a'))).toBe(true);
  });

  it('holds an org past its share of a busy loop shared with another org, and lets the other through', async () => {
    const load = new SetLoad();
    load.busy = true;
    const share = new BusyLoopShare(load, 2);
    const endB = await share.turn('b');
    const ends = [await share.turn('a'), await share.turn('a')];
    const third = share.turn('a');
    expect(await settled(third)).toBe(false);
    expect(share.waiting('a')).toBe(1);
    // The other org, under its share, goes straight through.
    expect(await settled(share.turn('b'))).toBe(true);
    endB();
    // One of the held org's pieces ends: the next in line takes its place.
    ends[0]!();
    ends[0]!();
    expect(await settled(third)).toBe(true);
    expect(share.waiting('a')).toBe(0);
    expect(share.heldTotal).toBe(1);
  });

  it('starts what waited once the loop has room again', async () => {
    const load = new SetLoad();
    load.busy = true;
    const share = new BusyLoopShare(load, 1);
    await share.turn('b');
    await share.turn('a');
    const waiting = [share.turn('a'), share.turn('a')];
    expect(await settled(Promise.all(waiting))).toBe(false);
    load.sample(false);
    expect(await settled(Promise.all(waiting))).toBe(true);
  });
});

describe('BusyLoopShare: points', () => {
  it('counts a costly piece as several, and lets it start when the org runs nothing else', async () => {
    const load = new SetLoad();
    load.busy = true;
    const share = new BusyLoopShare(load, 2);
    await share.turn('b');
    const small = await share.turn('a');
    const costly = share.turn('a', 3);
    const after = share.turn('a');
    expect(await settled(costly)).toBe(false);
    small();
    const endCostly = await costly;
    // In arrival order: the cheap one behind the costly one waits for it.
    expect(await settled(after)).toBe(false);
    endCostly();
    expect(await settled(after)).toBe(true);
  });
});

describe('BusyLoopShare: long-running pieces', () => {
  it('stops counting a piece still running after a second, so what waits behind it starts', async () => {
    const load = new SetLoad();
    load.busy = true;
    let now = 0;
    const share = new BusyLoopShare(load, 1, () => now);
    await share.turn('b');
    const endLong = await share.turn('a');
    const next = share.turn('a');
    now = 500;
    load.sample(true);
    expect(await settled(next)).toBe(false);
    now = 1000;
    load.sample(true);
    expect(await settled(next)).toBe(true);
    // Ending the piece that no longer counted frees nothing twice.
    endLong();
    expect(await settled(share.turn('a'))).toBe(false);
  });
});
