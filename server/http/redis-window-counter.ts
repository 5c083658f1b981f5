import type { RedisConnection } from '../sessions/redis-client.ts';
import { AppError } from '../errors/app-error.ts';
import type { WindowCount } from './window-counter.ts';

// One atomic step, so every instance sees one count: the first request of a window starts its expiry.
const COUNT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}`;

export type SharedWindowCounter = (key: string) => Promise<WindowCount>;

/**
 * Requests per key in fixed windows, counted in Redis so that N instances enforce one limit. A
 * Redis that cannot count answers session_store_unavailable (503): the same Redis holds the
 * sessions, so nothing could be served anyway.
 */
export function createRedisWindowCounter(redis: RedisConnection, keyPrefix: string, windowMs: number, now: () => number = Date.now): SharedWindowCounter {
  return async (key) => {
    let reply: unknown;
    try {
      reply = await redis.run((client) => client.eval(COUNT_SCRIPT, { keys: [`${keyPrefix}${key}`], arguments: [String(windowMs)] }));
    } catch (error) {
      throw new AppError('session_store_unavailable', { detail: `Redis rate-limit count failed: ${error instanceof Error ? error.message : String(error)}`, cause: error });
    }
    const [hits, ttlMs] = reply as [number, number];
    return { hits, resetAt: now() + (ttlMs > 0 ? ttlMs : windowMs) };
  };
}
