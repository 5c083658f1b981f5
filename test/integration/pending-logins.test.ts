import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import { completeProviderLogin, startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { reservePort, startTestApp, type TestApp } from '../support/test-app.ts';

describe('logins in progress', () => {
  let provider: TestProvider;
  let app: TestApp;
  let clockOffsetMs = 0;

  before(async () => {
    const listener = await reservePort();
    provider = await startTestProvider({ redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/` });
    app = await startTestApp({
      issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener,
      deps: { now: () => Date.now() + clockOffsetMs },
    });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  it('two logins started in two tabs of one browser both complete, in either order', async () => {
    const jar = new CookieJar();
    const tabA = await hop(`${app.url}/login?returnTo=/a`, { jar });
    const tabB = await hop(`${app.url}/login?returnTo=/b`, { jar });
    const callbackB = (await completeProviderLogin(tabB.location!, provider.users[1]!)).callbackUrl;
    const callbackA = (await completeProviderLogin(tabA.location!, provider.users[0]!)).callbackUrl;
    assert.equal((await hop(callbackB, { jar })).location, `${app.url}/b`);
    assert.equal((await hop(callbackA, { jar })).location, `${app.url}/a`);
    const token = await hop(`${app.url}/hivekit-access-token`, { jar });
    assert.equal((token.json as { user: { sub: string } }).user.sub, 'alice', 'the last login wins');
  });

  it('a login attempt older than ten minutes is refused as expired, and a new one works', async () => {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users[0]!);
    clockOffsetMs = 11 * 60_000;
    try {
      const late = await hop(callbackUrl, { jar });
      assert.equal(late.location, `${app.url}/?login_error=login_expired`);
      assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
      const again = await hop(`${app.url}/login`, { jar });
      const fresh = await completeProviderLogin(again.location!, provider.users[0]!);
      assert.equal((await hop(fresh.callbackUrl, { jar })).location, `${app.url}/`);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('a login attempt is single-use: its callback cannot be delivered twice in the same browser', async () => {
    const jar = new CookieJar();
    const other = await hop(`${app.url}/login`, { jar });
    const start = await hop(`${app.url}/login`, { jar });
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users[2]!);
    const preLogin = jar.clone();
    assert.equal((await hop(callbackUrl, { jar })).location, `${app.url}/`);
    const replay = await hop(callbackUrl, { jar: preLogin });
    assert.match(replay.location!, /login_error=(login_expired|state_mismatch)/);
    assert.ok(other.location);
  });

  it('polling the token route with a pre-login cookie never extends its row: it is gone fifteen minutes after the login started', async () => {
    const jar = new CookieJar();
    await hop(`${app.url}/login`, { jar });
    const expiryBefore = await pendingRowExpiries();
    assert.ok(expiryBefore.length > 0);
    try {
      for (let minute = 1; minute <= 14; minute += 1) {
        clockOffsetMs = minute * 60_000;
        assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
      }
      assert.deepEqual(await pendingRowExpiries(), expiryBefore, 'a token request moved a pre-login row\'s expiry');
      clockOffsetMs = 15 * 60_000 + 1000;
      assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
      await app.sessionStore.cleanExpired();
      const left = await pendingRowExpiries();
      assert.ok(expiryBefore.every((expiry) => !left.includes(expiry)), 'the pre-login row outlived its lifetime');
    } finally {
      clockOffsetMs = 0;
    }
  });

  /** Expiries of the rows that hold no user, straight from the database file. */
  function pendingRowExpiries(): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(app.dbPath);
      db.all("SELECT expired FROM sessions WHERE json_extract(sess, '$.passport.user') IS NULL ORDER BY expired", (error: Error | null, rows: Array<{ expired: number }>) => {
        db.close(() => (error ? reject(error) : resolve(rows.map((row) => row.expired))));
      });
    });
  }
});
