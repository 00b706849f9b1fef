import type { Redis } from 'ioredis';
import type { Fence } from '#libs/event-stream';
import { LuaScript } from '#libs/redis';

/**
 * Takes the lease when free: SET NX PX, then stamps it with a fencing token from an
 * ever-growing counter, so each holder's value is unique and a lease taken over after
 * expiry never matches the previous holder's.
 */
const ACQUIRE = new LuaScript<string | null>(
  `
if not redis.call('SET', KEYS[1], 'taking', 'NX', 'PX', ARGV[2]) then return false end
local token = redis.call('INCR', KEYS[2])
local holder = ARGV[1] .. '#' .. token
redis.call('SET', KEYS[1], holder, 'PX', ARGV[2])
return holder`,
  2,
);

const RENEW = new LuaScript<number>(
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
  1,
);

const RELEASE = new LuaScript<number>(
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`,
  1,
);

/**
 * A lease in Redis that one process at a time holds (leader election by SET NX PX with
 * renewal). Its holder value carries a fencing token: writes made with `fence()` are
 * checked against it atomically, so a holder that lost the lease (paused, partitioned)
 * can no longer write.
 */
export class RedisLease {
  private holder?: string;

  /**
   * @param key the lease key; `fenceKey` the counter of fencing tokens (same hash tag)
   * @param owner who this process is, for operators reading the key
   */
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly fenceKey: string,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes the lease if nobody holds it; true when this process now holds it. */
  async acquire(): Promise<boolean> {
    const holder = await ACQUIRE.run(this.redis, this.key, this.fenceKey, this.owner, this.ttlMs);
    this.holder = holder ?? undefined;
    return holder !== null;
  }

  /** Extends the lease; false (and no longer held) when another process holds it now. */
  async renew(): Promise<boolean> {
    if (!this.holder) return false;
    const renewed = (await RENEW.run(this.redis, this.key, this.holder, this.ttlMs)) === 1;
    if (!renewed) this.holder = undefined;
    return renewed;
  }

  /** Gives the lease up at once, if still held, so another process need not wait for expiry. */
  async release(): Promise<void> {
    const holder = this.holder;
    this.holder = undefined;
    if (holder) await RELEASE.run(this.redis, this.key, holder);
  }

  /** What a fenced write must present: refused once the lease is lost. */
  fence(): Fence {
    if (!this.holder) throw new Error('lease not held');
    return { key: this.key, holder: this.holder };
  }

  get held(): boolean {
    return this.holder !== undefined;
  }
}
