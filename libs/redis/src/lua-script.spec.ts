import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createTestRedis, type TestRedis } from '#libs/testing';
import { LuaScript } from './lua-script.js';

describe('LuaScript (real Redis)', () => {
  let redis: TestRedis;
  let client: Redis;

  beforeAll(() => {
    redis = createTestRedis();
    client = redis.connect();
  });

  afterAll(async () => {
    await redis.cleanup();
    client.disconnect();
  });

  /** A script no server has seen yet (its own comment gives it its own SHA). */
  const freshScript = (lua: string, keys: number) => new LuaScript<unknown>(`-- ${randomBytes(8).toString('hex')}\n${lua}`, keys);

  it('sends a script the server does not know whole once, then runs it by its SHA', async () => {
    const incr = freshScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`, 1);
    const key = `${redis.prefix}:counter`;
    expect(await client.script('EXISTS', incr.sha)).toEqual([0]);
    expect(await incr.run(client, key, 2)).toBe(2);
    expect(await client.script('EXISTS', incr.sha)).toEqual([1]);
    expect(await incr.run(client, key, 3)).toBe(5);
  });

  it('runs a script whose keys vary in number by its SHA too, with all of them as KEYS', async () => {
    const count = freshScript(`return #KEYS .. ':' .. ARGV[1]`, 0);
    expect(await count.runWithKeys(client, [`${redis.prefix}:a`, `${redis.prefix}:b`], 'x')).toBe('2:x');
    expect(await count.runWithKeys(client, [`${redis.prefix}:a`], 'y')).toBe('1:y');
    expect(await client.script('EXISTS', count.sha)).toEqual([1]);
  });

  it("passes the script's own errors on", async () => {
    const fail = freshScript(`return redis.error_reply('FENCED lease lost')`, 0);
    await expect(fail.run(client)).rejects.toThrow('FENCED lease lost');
    await expect(fail.run(client)).rejects.toThrow('FENCED lease lost');
  });
});
