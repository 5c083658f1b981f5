import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Request, RequestHandler, Response } from 'express';
import { sign } from 'cookie-signature';
import { createRateLimits } from '../../server/http/rate-limits.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { createSessionCookie } from '../../server/sessions/session-cookie.ts';
import { createSessionReader } from '../../server/sessions/session-reader.ts';
import type { SessionRepository } from '../../server/sessions/session-repository.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';

const SECRET = 's'.repeat(32);
const COOKIE_NAME = 'hivekit.sid';

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

  type Reader = ReturnType<typeof createSessionReader>;
  // The three steps of the token route that matter here, in the route's order.
  function tokenRequest(reader: Reader, limitTokens: RequestHandler, sid: string): Promise<'allowed' | 'refused'> {
    const req = { headers: { cookie: `${COOKIE_NAME}=${encodeURIComponent(`s:${sign(sid, SECRET)}`)}` }, ip: '127.0.0.1', path: '/hivekit-access-token' } as unknown as Request;
    return new Promise((resolve, reject) => {
      reader.identifySession(req, {} as Response, () => {
        limitTokens(req, {} as Response, (limitError?: unknown) => {
          if (limitError) return resolve('refused');
          return reader.readSession(req, {} as Response, (readError?: unknown) => (readError ? reject(readError) : resolve('allowed')));
        });
      });
    });
  }

  it('requests arriving together are counted one by one: exactly those within the limit pass, and only they read the store', async () => {
    const sid = 'session-under-load';
    const data = { cookie: { path: '/', httpOnly: true }, createdAt: Date.now(), passport: { user: { sub: 'alice', claims: {}, idToken: 'id', loginAt: 1 } } };
    await new Promise<void>((resolve, reject) => handle.store.set(sid, data as never, (error) => (error ? reject(error) : resolve())));
    const reader = createSessionReader({ sessions: handle, cookie: createSessionCookie({ secure: false, secrets: [SECRET], absoluteTimeoutSeconds: 86_400 }), logger: createMemoryLogger() });
    const { token: limitTokens } = createRateLimits({ loginPerMinute: 10, tokenPerMinute: 10 });

    for (let i = 0; i < 5; i += 1) assert.equal(await tokenRequest(reader, limitTokens, sid), 'allowed');
    const trips = handle.readTripCount();
    const together = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(reader, limitTokens, sid)));
    assert.equal(handle.readTripCount() - trips, 1, 'the five allowed reads went to SQLite as one batch');
    assert.deepEqual(together, [...Array(5).fill('allowed'), ...Array(5).fill('refused')]);
  });
});
