import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateKeyPair } from 'jose';
import { startLifecycleProvider, type LifecycleProvider } from '../support/lifecycle-provider.ts';
import { completeProviderLogout, ProviderCookieJar, TEST_USERS } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import { PROJECT_ROOT } from '../support/start-product.ts';
import { reservePort, startTestApp, TEST_HIVEKIT_SECRET, type TestApp } from '../support/test-app.ts';

const run = promisify(execFile);
const MAX_AGE_SECONDS = 60;
const GRACE_SECONDS = 120;
const [alice, bob, carol] = TEST_USERS;

type Token = { status: number; sub?: string; per?: Record<string, unknown>; error?: string };

describe('sessions that follow the provider', () => {
  let provider: LifecycleProvider;
  let app: TestApp;
  let clockOffsetMs = 0;

  before(async () => {
    const listener = await reservePort();
    provider = await startLifecycleProvider({
      redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/`, backchannelLogoutUri: `${listener.url}/backchannel-logout`,
    });
    app = await startTestApp({
      issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener,
      env: {
        CLAIMS_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS), CLAIMS_GRACE_SECONDS: String(GRACE_SECONDS),
        PERMISSIONS_FILE: join(PROJECT_ROOT, 'policy.example.json'),
      },
      deps: { now: () => Date.now() + clockOffsetMs },
      providerHttp: { timeoutMs: 1000, maxBytes: 512 * 1024 },
    });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  async function login(target: TestApp, user = alice!, providerCookies = new ProviderCookieJar()) {
    const jar = new CookieJar();
    const start = await hop(`${target.url}/login`, { jar });
    const { callbackUrl } = await provider.login(start.location!, user, providerCookies);
    assert.equal((await hop(callbackUrl, { jar })).status, 303);
    return { jar, providerCookies };
  }
  async function token(target: TestApp, jar: CookieJar): Promise<Token> {
    const response = await hop(`${target.url}/hivekit-access-token`, { jar });
    const body = response.json as { token?: string; error?: string };
    if (!body.token) return { status: response.status, error: body.error };
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1]!, 'base64url').toString()) as { sub: string; per: Record<string, unknown> };
    return { status: response.status, sub: claims.sub, per: claims.per };
  }
  async function at<T>(offsetMs: number, act: () => Promise<T>): Promise<T> {
    clockOffsetMs = offsetMs;
    try { return await act(); } finally { clockOffsetMs = 0; }
  }

  it('keeps the refresh token sealed in the session record: it never appears in the store in clear', async () => {
    await login(app, carol);
    const { default: sqlite3 } = await import('sqlite3');
    const rows = await new Promise<Array<{ sess: string }>>((resolve, reject) => {
      const db = new sqlite3.Database(app.dbPath);
      db.all('SELECT sess FROM sessions', (error: Error | null, found: Array<{ sess: string }>) => db.close(() => (error ? reject(error) : resolve(found))));
    });
    const grants = rows.map((row) => JSON.parse(row.sess).passport?.user?.grant).filter(Boolean);
    assert.ok(grants.length > 0 && grants.every((grant) => typeof grant.refreshToken === 'string' && grant.refreshToken.startsWith('v1.')), 'no sealed refresh token kept');
  });

  it('a group removed at the provider leaves the next token after the max age, and not before', async () => {
    provider.setGroups('alice', ['dispatchers', 'riders']);
    const { jar } = await login(app, alice);
    const atLogin = await token(app, jar);
    assert.ok(atLogin.per?.['*'], 'a dispatcher gets the all-realms status grant');
    provider.setGroups('alice', ['riders']);
    const before = await at((MAX_AGE_SECONDS - 10) * 1000, () => token(app, jar));
    assert.deepEqual(before.per, atLogin.per, 'claims changed before the max age');
    const after = await at((MAX_AGE_SECONDS + 1) * 1000, () => token(app, jar));
    assert.equal(after.status, 200);
    assert.equal(after.sub, 'alice');
    assert.equal(after.per?.['*'], undefined, 'the removed group still grants after the max age');
    assert.ok(app.logger.entries.some((entry) => entry.event === 'claims_revalidated'));
  });

  it('a disabled account gets 401 at its next token request after the max age', async () => {
    const { jar } = await login(app, bob);
    assert.equal((await token(app, jar)).status, 200);
    provider.disable('bob');
    assert.equal((await at((MAX_AGE_SECONDS - 10) * 1000, () => token(app, jar))).status, 200);
    assert.equal((await at((MAX_AGE_SECONDS + 1) * 1000, () => token(app, jar))).status, 401);
    assert.equal((await token(app, jar)).status, 401, 'the ended session came back');
  });

  it('a provider outage keeps tokens coming for the grace period, then 503, and recovers when it is back', async () => {
    const { jar } = await login(app, carol);
    provider.setDown(true);
    try {
      const inGrace = await at((MAX_AGE_SECONDS + 1) * 1000, () => token(app, jar));
      assert.equal(inGrace.status, 200, 'an outage signed the user out');
      const past = await at((MAX_AGE_SECONDS + GRACE_SECONDS + 30) * 1000, () => token(app, jar));
      assert.equal(past.status, 503);
      assert.equal(past.error, 'provider_unavailable');
    } finally {
      provider.setDown(false);
    }
    const back = await at((MAX_AGE_SECONDS + GRACE_SECONDS + 60) * 1000, () => token(app, jar));
    assert.equal(back.status, 200);
    assert.equal(back.sub, 'carol');
  });

  it('a sign-out at the provider reaches the app by back-channel: the session ends at once', async () => {
    provider.setGroups('alice', ['riders']);
    const { jar, providerCookies } = await login(app, alice);
    assert.equal((await token(app, jar)).status, 200);
    const discovery = await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json() as { end_session_endpoint: string };
    const endSession = new URL(discovery.end_session_endpoint);
    endSession.search = new URLSearchParams({ client_id: provider.clientId, post_logout_redirect_uri: `${app.url}/` }).toString();
    await completeProviderLogout(endSession.href, providerCookies);
    assert.equal((await token(app, jar)).status, 401);
    assert.ok(app.logger.entries.some((entry) => entry.event === 'backchannel_logout' && (entry.fields.ended as number) >= 1));
  });

  it('refuses forged, expired, wrong-audience, nonce-carrying, ID-token-shaped and replayed logout tokens, and they end nothing', async () => {
    const { jar } = await login(app, carol);
    const foreign = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const refused: Array<[string, string]> = [
      ['signed by another key', await provider.logoutToken({ sub: 'carol' }, foreign.privateKey)],
      ['expired', await provider.logoutToken({ sub: 'carol', iat: now - 3600, exp: now - 1800 })],
      ['issued long ago', await provider.logoutToken({ sub: 'carol', iat: now - 3600, exp: now + 3600 })],
      ['for another client', await provider.logoutToken({ sub: 'carol', aud: 'someone-else' })],
      ['with a nonce', await provider.logoutToken({ sub: 'carol', nonce: 'n' })],
      ['without the logout event', await provider.logoutToken({ sub: 'carol', events: {} })],
      ['naming neither sub nor sid', await provider.logoutToken({})],
      ['not a JWT', 'not-a-jwt'],
    ];
    for (const [what, logoutToken] of refused) {
      const answer = await postLogoutToken(app, logoutToken);
      assert.equal(answer.status, 400, what);
      assert.equal((answer.json as { error: string }).error, 'invalid_request', what);
    }
    assert.equal((await token(app, jar)).status, 200, 'a refused logout token ended the session');
    const genuine = await provider.logoutToken({ sub: 'carol' });
    assert.equal((await postLogoutToken(app, genuine)).status, 200);
    assert.equal((await token(app, jar)).status, 401);
    const replay = await postLogoutToken(app, genuine);
    assert.equal(replay.status, 400, 'a replayed jti was accepted');
  });

  it('answers a logout request without a token, or with a body too large, 400 in the OAuth format', async () => {
    assert.equal((await postLogoutToken(app, '')).status, 400);
    const huge = await fetch(`${app.url}/backchannel-logout`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${'x'.repeat(40_000)}`,
    });
    assert.equal(huge.status, 400);
    assert.equal(((await huge.json()) as { error: string }).error, 'invalid_request');
  });

  it('the revoke command ends every session of one user and nobody else\'s', async () => {
    provider.setGroups('alice', ['riders']);
    const aliceBefore = await login(app, alice);
    const aliceLaptop = await login(app, alice);
    const alicePhone = await login(app, alice);
    const carolsOwn = await login(app, carol);
    const env = {
      ...process.env, NODE_ENV: 'test', PUBLIC_URL: app.url, OIDC_ISSUER: provider.issuer, OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret, SESSION_SECRET: app.config.session.secrets.join(','), SESSION_DB: app.dbPath,
      HIVEKIT_TENANT_ID: 'tenant-test', HIVEKIT_SECRET: TEST_HIVEKIT_SECRET.toString('base64'), HIVEKIT_SECRET_ID: 'kid-test',
    };
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'scripts/sessions.ts', ...args], { cwd: PROJECT_ROOT, env });
    const listed = await cli('list', '--sub', 'alice');
    const count = Number(/^(\d+) sessions?$/m.exec(listed.stdout)?.[1]);
    assert.ok(count >= 3, listed.stdout);
    assert.equal(listed.stdout.split('\n').filter((line) => line.includes('sub="alice"')).length, count);
    assert.doesNotMatch(listed.stdout, /token|eyJ|carol/);
    const revoked = await cli('revoke', '--sub', 'alice');
    assert.match(revoked.stdout, new RegExp(`ended ${count} sessions of "alice"`));
    assert.equal((await token(app, aliceBefore.jar)).status, 401);
    assert.equal((await token(app, aliceLaptop.jar)).status, 401);
    assert.equal((await token(app, alicePhone.jar)).status, 401);
    assert.equal((await token(app, carolsOwn.jar)).status, 200);
    await assert.rejects(cli('revoke'), (error: { code?: number; stderr?: string }) => error.code === 2 && /Usage/.test(error.stderr ?? ''));
  });

  describe('on Redis, with two instances', () => {
    let redis: RunningRedis;
    let first: TestApp;
    let second: TestApp;

    before(async () => {
      redis = await startRedisServer();
      // The first instance answers the provider (its redirect and back-channel URIs are registered).
      await app.stop();
      const listener = await reservePort();
      await provider.close();
      provider = await startLifecycleProvider({
        redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/`, backchannelLogoutUri: `${listener.url}/backchannel-logout`,
      });
      const env = { SESSION_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'lifecycle:' };
      first = await startTestApp({ issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener, env });
      second = await startTestApp({ issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, env });
      // Redis connects in the background, as in production.
      for (const instance of [first, second]) {
        for (let tries = 0; !(await instance.sessionStore.isHealthy()); tries += 1) {
          if (tries > 100) throw new Error('Redis did not become ready');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });
    after(async () => {
      await first.stop();
      await second.stop();
      await first.cleanup();
      await second.cleanup();
      await redis.stop();
    });

    it('a back-channel logout received by one instance ends the session on the other at once', async () => {
      const { jar } = await login(first, alice);
      const elsewhere = jar.clone();
      assert.equal((await token(second, elsewhere)).status, 200, 'the other instance does not share the session');
      const logoutToken = await provider.logoutToken({ sub: 'alice' });
      assert.equal((await postLogoutToken(second, logoutToken)).status, 200);
      assert.equal((await token(first, jar)).status, 401);
      assert.equal((await postLogoutToken(first, logoutToken)).status, 400, 'the jti was replayable on another instance');
    });

    it('a provider session id in the logout token ends only the sessions of that provider session', async () => {
      const laptop = await login(first, bob);
      const phone = await login(first, bob);
      const sids = await providerSidsOf(redis, 'lifecycle:', 'bob');
      assert.equal(sids.length, 2, 'each login is its own provider session');
      assert.equal((await postLogoutToken(second, await provider.logoutToken({ sid: sids[0], sub: 'bob' }))).status, 200);
      const alive = [(await token(first, laptop.jar)).status, (await token(first, phone.jar)).status].sort();
      assert.deepEqual(alive, [200, 401]);
    });
  });
});

async function postLogoutToken(target: TestApp, logoutToken: string) {
  return hop(`${target.url}/backchannel-logout`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: logoutToken }).toString(), bffHeader: false,
  });
}

async function providerSidsOf(redis: RunningRedis, prefix: string, sub: string): Promise<string[]> {
  const { createClient } = await import('redis');
  const client = createClient({ url: redis.url });
  await client.connect();
  try {
    const sessionIds = await client.sMembers(`${prefix}sub:${sub}`);
    const sids: string[] = [];
    for (const sid of sessionIds) {
      const json = await client.hGet(`${prefix}sess:${sid}`, 'sess');
      const providerSid = json ? (JSON.parse(json) as { passport?: { user?: { providerSid?: string } } }).passport?.user?.providerSid : undefined;
      if (providerSid) sids.push(providerSid);
    }
    return sids;
  } finally {
    await client.close();
  }
}
