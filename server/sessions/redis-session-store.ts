import session from 'express-session';
import { RedisStore } from 'connect-redis';
import type { RedisConnection } from './redis-client.ts';
import type { Logger } from '../logging/logger.ts';
import type { SessionLifetimes } from './session-expiry.ts';
import { parseSessionRecord } from './session-record.ts';
import {
  createSessionRepository, storeClassWith, type SessionBackend, type SessionOwner, type SessionRepository, type StoredRow,
} from './session-repository.ts';

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

// A changed record written over a session that still exists and has not ended, never bringing one
// back (a logout on another instance during a claims refresh stays a logout).
const REPLACE_SCRIPT = `
local expired = redis.call('HGET', KEYS[1], 'expired')
if not expired or tonumber(expired) < tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'sess', ARGV[1], 'expired', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[5])
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
return 1`;

// The token route's rate limit and session read in one trip: count the request, and read the
// session's hash only while the count is within the limit (a refused request reads nothing). The
// counter is the one http/redis-window-counter.ts keeps for requests without a session.
const READ_WITHIN_LIMIT_SCRIPT = `
local hits = redis.call('INCR', KEYS[2])
if hits == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[2])
if hits > tonumber(ARGV[2]) then return {hits, ttl} end
local row = redis.call('HMGET', KEYS[1], 'sess', 'expired', 'lastActiveAt')
return {hits, ttl, row[1], row[2], row[3]}`;

type Field = string | null | undefined | false;
// A session hash's fields, in rowOf's order (READ_WITHIN_LIMIT_SCRIPT reads the same three).
const ROW_FIELDS = ['sess', 'expired', 'lastActiveAt'];

/** A session hash's fields as a stored row; undefined when there is no hash. */
function rowOf(json?: Field, expired?: Field, lastActiveAt?: Field): StoredRow | undefined {
  if (typeof json !== 'string') return undefined;
  const last = typeof lastActiveAt === 'string' ? Number(lastActiveAt) : undefined;
  return { json, expiresAt: Number(expired), ...(last !== undefined && Number.isFinite(last) ? { lastActiveAt: last } : {}) };
}

/**
 * Sessions in Redis, for several instances behind a load balancer: one hash per session
 * (`sess` = the record's JSON, `expired`, and `lastActiveAt` after a touch), whose key TTL follows
 * the session's expiry, so Redis removes ended sessions itself. connect-redis is the express-session
 * Store it extends; the repository makes every decision (session-repository.ts), because
 * connect-redis keeps a plain string per session and touches it with a TTL of its own.
 * node-redis pipelines the commands of one event-loop turn, so concurrent token requests share a
 * round trip as the SQLite backend's batched reads do; each counts its rate limit and reads its
 * session in that one trip (readRowWithin).
 */
export function openRedisSessionStore(options: RedisSessionStoreOptions): SessionRepository {
  const { redis } = options;
  const now = options.now ?? Date.now;
  const keyOf = (sid: string) => `${options.keyPrefix}sess:${sid}`;
  // Sets of session ids per user and per provider session: back-channel logout and revoke read one
  // set instead of scanning every session. A member whose session has ended is harmless (DEL of a
  // missing key); a set lives as long as the newest session added to it.
  const subKey = (sub: string) => `${options.keyPrefix}sub:${sub}`;
  const providerSidKey = (providerSid: string) => `${options.keyPrefix}psid:${providerSid}`;
  const ownerKeys = (owner: SessionOwner) => [
    ...(owner.sub ? [subKey(owner.sub)] : []), ...(owner.providerSid ? [providerSidKey(owner.providerSid)] : []),
  ];
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

  const scanKeys = async (match: string): Promise<string[]> => {
    const keys: string[] = [];
    for await (const batch of redis.client.scanIterator({ MATCH: match, COUNT: 500 })) keys.push(...(batch as unknown as string[]));
    return keys;
  };
  const allSessionIds = async () => (await scanKeys(`${options.keyPrefix}sess:*`)).map((key) => key.slice(`${options.keyPrefix}sess:`.length));

  const backend: SessionBackend = {
    name: 'Redis',
    StoreBase: storeClassWith(RedisStore as unknown as new (options: object) => session.Store, { client: redis.client, prefix: `${options.keyPrefix}sess:` }),
    readRow(sid, callback) {
      countTurn();
      redis.run((client) => client.hmGet(keyOf(sid), ROW_FIELDS)).then(
        (fields) => callback(null, rowOf(...fields)),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    },
    readRowWithin(sid, limit, callback) {
      countTurn();
      redis.run((client) => client.eval(READ_WITHIN_LIMIT_SCRIPT, { keys: [keyOf(sid), limit.key], arguments: [String(limit.windowMs), String(limit.max)] })).then((reply) => {
        const [hits, ttlMs, json, expired, lastActiveAt] = reply as [number, number, Field?, Field?, Field?];
        callback(null, { hits, msLeft: ttlMs > 0 ? ttlMs : limit.windowMs }, rowOf(json, expired, lastActiveAt));
      }, (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
    writeRow(sid, json, expiresAt, current, owner, callback) {
      const key = keyOf(sid);
      const ttl = Number(ttlMs(expiresAt, current));
      settle(redis.run((client) => {
        const transaction = client.multi().del(key).hSet(key, { sess: json, expired: String(expiresAt) }).pExpire(key, ttl);
        for (const index of ownerKeys(owner)) transaction.sAdd(index, sid).pExpire(index, ttl);
        return transaction.exec();
      }), callback);
    },
    replaceRow(sid, json, expiresAt, current, owner, callback) {
      redis.run((client) => client.eval(REPLACE_SCRIPT, {
        keys: [keyOf(sid), ...ownerKeys(owner)],
        arguments: [json, String(expiresAt), String(current), ttlMs(expiresAt, current), sid],
      })).then((replaced) => callback(null, replaced === 1), (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
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
    deleteOwnedBy: async (owner) => {
      const index = owner.providerSid ? providerSidKey(owner.providerSid) : subKey(owner.sub!);
      const sids = await redis.run((client) => client.sMembers(index));
      let deleted = 0;
      for (const sid of sids) {
        if (owner.providerSid && owner.sub) {
          // Both named (OIDC Back-Channel Logout §2.4): only sessions of that provider session *and* user.
          const [json] = await redis.run((client) => client.hmGet(keyOf(sid), ['sess']));
          if (parseSessionRecord(json)?.passport?.user?.sub !== owner.sub) continue;
        }
        deleted += await redis.run((client) => client.del(keyOf(sid)));
      }
      if (!(owner.providerSid && owner.sub)) await redis.run((client) => client.del(index));
      return deleted;
    },
    listOwnedBy: async (sub) => {
      const sids = sub === undefined ? await allSessionIds() : await redis.run((client) => client.sMembers(subKey(sub)));
      const rows: Array<{ sid: string; row: StoredRow }> = [];
      for (const sid of sids) {
        const row = rowOf(...await redis.run((client) => client.hmGet(keyOf(sid), ROW_FIELDS)));
        if (row) rows.push({ sid, row });
      }
      return rows;
    },
    deleteAll: async () => {
      let deleted = 0;
      for (const pattern of ['sess:*', 'sub:*', 'psid:*']) {
        const keys = await scanKeys(`${options.keyPrefix}${pattern}`);
        for (let start = 0; start < keys.length; start += 500) {
          const count = await redis.run((client) => client.del(keys.slice(start, start + 500)));
          if (pattern === 'sess:*') deleted += count;
        }
      }
      return deleted;
    },
    claimOnce: async (key, ttl) => (await redis.run((client) => client.set(`${options.keyPrefix}once:${key}`, '1', { NX: true, PX: ttl }))) === 'OK',
    release: async (key) => { await redis.run((client) => client.del(`${options.keyPrefix}once:${key}`)); },
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
