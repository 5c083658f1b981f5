import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Request, RequestHandler, Response } from 'express';
import { sign } from 'cookie-signature';
import { createRateLimits } from '../../server/http/rate-limits.ts';
import type { AppError } from '../../server/errors/app-error.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { connectRedis, type RedisConnection } from '../../server/sessions/redis-client.ts';
import { openRedisSessionStore } from '../../server/sessions/redis-session-store.ts';
import { createSessionCookie } from '../../server/sessions/session-cookie.ts';
import { createSessionReader } from '../../server/sessions/session-reader.ts';
import type { SessionRepository } from '../../server/sessions/session-repository.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';

const SECRET = 's'.repeat(32);
const COOKIE_NAME = 'hivekit.sid';

type Reader = ReturnType<typeof createSessionReader>;
type Outcome = 'allowed' | 'refused';

// The three steps of the token route that matter here, in the route's order.
function tokenRequest(reader: Reader, limitTokens: RequestHandler, sid: string, refusals: unknown[] = []): Promise<Outcome> {
  const req = { headers: { cookie: `${COOKIE_NAME}=${encodeURIComponent(`s:${sign(sid, SECRET)}`)}` }, ip: '127.0.0.1', path: '/hivekit-access-token' } as unknown as Request;
  return new Promise((resolve, reject) => {
    reader.identifySession(req, {} as Response, () => {
      limitTokens(req, {} as Response, (limitError?: unknown) => {
        if (limitError) { refusals.push(limitError); return resolve('refused'); }
        return reader.readSession(req, {} as Response, (readError?: unknown) => {
          if ((readError as AppError | undefined)?.code === 'rate_limited') { refusals.push(readError); return resolve('refused'); }
          return readError ? reject(readError) : resolve('allowed');
        });
      });
    });
  });
}

const signedIn = () => ({ cookie: { path: '/', httpOnly: true }, createdAt: Date.now(), passport: { user: { sub: 'alice', claims: {}, idToken: 'id', loginAt: 1 } } });
const sessionCookie = () => createSessionCookie({ secure: false, secrets: [SECRET], absoluteTimeoutSeconds: 86_400 });

describe('the token rate limit in front of batched session reads', () => {
  let dir: string;
  let handle: SessionRepository;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'token-limit-'));
    handle = await openSqliteSessionStore({ path: join(dir, 'sessions.db'), idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400, logger: createMemoryLogger() });
  });
  after(async () => {
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('requests arriving together are counted one by one: exactly those within the limit pass, and only they read the store', async () => {
    const sid = 'session-under-load';
    await new Promise<void>((resolve, reject) => handle.store.set(sid, signedIn() as never, (error) => (error ? reject(error) : resolve())));
    const reader = createSessionReader({ sessions: handle, cookie: sessionCookie(), logger: createMemoryLogger() });
    const { token: limitTokens } = createRateLimits({ loginPerMinute: 10, tokenPerMinute: 10 });

    for (let i = 0; i < 5; i += 1) assert.equal(await tokenRequest(reader, limitTokens, sid), 'allowed');
    const trips = handle.readTripCount();
    const together = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(reader, limitTokens, sid)));
    assert.equal(handle.readTripCount() - trips, 1, 'the five allowed reads went to SQLite as one batch');
    assert.deepEqual(together, [...Array(5).fill('allowed'), ...Array(5).fill('refused')]);
  });
});

describe('the token rate limit shared in Redis, counted in the trip that reads the session', () => {
  let server: RunningRedis;
  let redis: RedisConnection;
  let sessions: SessionRepository;
  const keyPrefix = 'limit-test:';

  before(async () => {
    server = await startRedisServer();
    redis = connectRedis({ url: server.url, logger: createMemoryLogger() });
    sessions = openRedisSessionStore({ redis, keyPrefix, idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400, logger: createMemoryLogger() });
    await new Promise<void>((resolve, reject) => sessions.store.set('session-in-redis', signedIn() as never, (error) => (error ? reject(error) : resolve())));
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  const hmgetCalls = async () => Number(/cmdstat_hmget:calls=(\d+)/.exec(await redis.run((client) => client.info('commandstats')))?.[1] ?? 0);

  it('exactly the requests within the limit pass, each in one Redis command, and the refused ones read no session', async () => {
    const limits = createRateLimits({ loginPerMinute: 10, tokenPerMinute: 5, shared: { redis, keyPrefix } });
    assert.ok(limits.tokenSessions, 'shared limits hand the session limit to the reader');
    const reader = createSessionReader({ sessions, cookie: sessionCookie(), logger: createMemoryLogger(), limit: limits.tokenSessions });
    const hmgetBefore = await hmgetCalls();
    const refusals: unknown[] = [];
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => tokenRequest(reader, limits.token, 'session-in-redis', refusals)));
    assert.deepEqual(outcomes.filter((o) => o === 'allowed').length, 5);
    assert.equal(await hmgetCalls() - hmgetBefore, 5, 'a refused request read the session');
    const refusal = refusals[0] as AppError;
    assert.equal(refusal.code, 'rate_limited');
    assert.match(String(refusal.headers?.['Retry-After']), /^\d+$/);
    assert.equal(await redis.run((client) => client.get(`${keyPrefix}rl:token:session:session-in-redis`)), '12', 'one counter per session, shared by every instance');
  });

  it('a reader given a shared limit over a store that cannot count with its reads refuses to start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'token-limit-'));
    const sqlite = await openSqliteSessionStore({ path: join(dir, 'sessions.db'), idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400, logger: createMemoryLogger() });
    try {
      const { tokenSessions } = createRateLimits({ loginPerMinute: 10, tokenPerMinute: 5, shared: { redis, keyPrefix } });
      assert.throws(() => createSessionReader({ sessions: sqlite, cookie: sessionCookie(), logger: createMemoryLogger(), limit: tokenSessions }), /cannot count a limit/);
    } finally {
      await sqlite.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
