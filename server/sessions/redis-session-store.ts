import session from 'express-session';
import { RedisStore } from 'connect-redis';
import type { RedisConnection } from './redis-client.ts';
import type { Logger } from '../logging/logger.ts';
import type { SessionLifetimes } from './session-expiry.ts';
import { createSessionRepository, storeClassWith, type SessionBackend, type SessionRepository } from './session-repository.ts';

export interface RedisSessionStoreOptions extends SessionLifetimes {
  /** A connection of the official `redis` package's client (sessions/redis-client.ts). */
  redis: RedisConnection;
  /** Every key this deployment writes starts with it, so several deployments can share one Redis. */
  keyPrefix: string;
  logger: Logger;
  now?: () => number;
}

// Moves a row's expiry and lastActiveAt only if it still exists and has not ended: a touch racing a
// logout or the row's end must not bring it back (the SQLite backend's `expired >= now`).
const TOUCH_SCRIPT = `
local expired = redis.call('HGET', KEYS[1], 'expired')
if not expired or tonumber(expired) < tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'expired', ARGV[1], 'lastActiveAt', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

/**
 * Sessions in Redis, for several instances behind a load balancer: one hash per session
 * (`sess` = the record's JSON, `expired`, and `lastActiveAt` after a touch), whose key TTL follows
 * the session's expiry, so Redis removes ended sessions itself. connect-redis is the express-session
 * Store it extends; the repository makes every decision (session-repository.ts), because
 * connect-redis keeps a plain string per session and touches it with a TTL of its own.
 * node-redis pipelines the commands of one event-loop turn, so concurrent token requests share a
 * round trip as the SQLite backend's batched reads do.
 */
export function openRedisSessionStore(options: RedisSessionStoreOptions): SessionRepository {
  const { redis } = options;
  const now = options.now ?? Date.now;
  const keyOf = (sid: string) => `${options.keyPrefix}sess:${sid}`;
  let readTurns = 0;
  let turnCounted = false;
  const countTurn = () => {
    if (turnCounted) return;
    turnCounted = true;
    readTurns += 1;
    setImmediate(() => { turnCounted = false; });
  };
  const ttlMs = (expiresAt: number, current: number) => String(Math.max(1, Math.ceil(expiresAt - current)));
  const settle = (promise: Promise<unknown>, callback: (error?: Error | null) => void) => {
    promise.then(() => callback(null), (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
  };

  const backend: SessionBackend = {
    name: 'Redis',
    StoreBase: storeClassWith(RedisStore as unknown as new (options: object) => session.Store, { client: redis.client, prefix: `${options.keyPrefix}sess:` }),
    readRow(sid, callback) {
      countTurn();
      redis.run((client) => client.hmGet(keyOf(sid), ['sess', 'expired', 'lastActiveAt'])).then(([json, expired, lastActiveAt]) => {
        if (json === null || json === undefined) return callback(null);
        const last = lastActiveAt === null || lastActiveAt === undefined ? undefined : Number(lastActiveAt);
        return callback(null, { json, expiresAt: Number(expired), ...(last !== undefined && Number.isFinite(last) ? { lastActiveAt: last } : {}) });
      }, (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
    writeRow(sid, json, expiresAt, current, callback) {
      const key = keyOf(sid);
      settle(redis.run((client) => client.multi().del(key).hSet(key, { sess: json, expired: String(expiresAt) }).pExpire(key, Number(ttlMs(expiresAt, current))).exec()), callback);
    },
    touchRow(sid, expiresAt, lastActiveAt, current, callback) {
      settle(redis.run((client) => client.eval(TOUCH_SCRIPT, {
        keys: [keyOf(sid)],
        arguments: [String(expiresAt), String(lastActiveAt), String(current), ttlMs(expiresAt, current)],
      })), callback);
    },
    deleteRow(sid, callback) {
      settle(redis.run((client) => client.del(keyOf(sid))), callback);
    },
    isHealthy: async () => {
      if (!redis.client.isReady) return false;
      try {
        return (await redis.run((client) => client.ping())) === 'PONG';
      } catch {
        return false;
      }
    },
    readTripCount: () => readTurns,
    cleanExpired: async () => 0,
    close: async () => undefined,
  };
  return createSessionRepository(backend, { ...options, now });
}
