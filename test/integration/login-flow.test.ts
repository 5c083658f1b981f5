import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import sqlite3 from 'sqlite3';
import { createIdTokenVerifier } from '../../server/auth/id-token-verifier.ts';
import { completeProviderLogin, startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { reservePort, startTestApp, TEST_HIVEKIT_SECRET, type TestApp } from '../support/test-app.ts';

const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };
// The production default is 30 s; the test shortens it rather than wait, the code path is the same.
const JWKS_COOLDOWN_MS = 200;

async function countSessions(dbPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(dbPath);
    db.get('SELECT COUNT(*) AS n FROM sessions WHERE sess LIKE \'%"passport"%\'', (error: Error | null, row: { n: number }) => {
      db.close(() => (error ? reject(error) : resolve(row.n)));
    });
  });
}

describe('login through a real OpenID provider, session in SQLite, token minted', () => {
  let provider: TestProvider;
  let app: TestApp;

  before(async () => {
    const listener = await reservePort();
    provider = await startTestProvider({ redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/` });
    app = await startTestApp({
      issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener,
      deps: { verifier: createIdTokenVerifier({ clientId: provider.clientId, jwksCooldownMs: JWKS_COOLDOWN_MS }) },
    });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  /** Logs in as `username` and returns the browser's cookie jar. */
  async function login(username = 'alice', returnTo = '/'): Promise<CookieJar> {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login?returnTo=${encodeURIComponent(returnTo)}`, { jar });
    const user = provider.users.find((u) => u.username === username)!;
    const { callbackUrl } = await completeProviderLogin(start.location!, user);
    const callback = await hop(callbackUrl, { jar });
    assert.equal(callback.status, 303);
    assert.doesNotMatch(callback.location!, /login_error/, `login as ${username} failed`);
    return jar;
  }

  it('follows a full login hop by hop and mints a token with exactly the contract header and claims', async () => {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login?returnTo=${encodeURIComponent('/dashboard?tab=1')}`, { jar });
    assert.equal(start.status, 302);
    const authorize = new URL(start.location!);
    assert.equal(authorize.origin, provider.issuer);
    assert.equal(authorize.searchParams.get('client_id'), provider.clientId);
    assert.equal(authorize.searchParams.get('response_type'), 'code');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${app.url}/oauth2/redirect`);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.deepEqual(authorize.searchParams.get('scope')?.split(' ').sort(), ['email', 'openid', 'profile']);
    const preLoginCookie = jar.get('hivekit.sid');
    assert.ok(preLoginCookie, 'the login must start a session to hold state, nonce and verifier');

    const { callbackUrl, hops } = await completeProviderLogin(start.location!, provider.users[0]!);
    assert.equal(hops[0]!.status, 303);
    assert.match(new URL(hops[0]!.location!, provider.issuer).href, new RegExp(`^${provider.issuer}/interaction/`));
    const callback = new URL(callbackUrl);
    assert.equal(`${callback.origin}${callback.pathname}`, `${app.url}/oauth2/redirect`);
    assert.equal(callback.searchParams.get('state')?.length, 32);
    assert.ok(callback.searchParams.get('code'));

    const finish = await hop(callbackUrl, { jar });
    assert.equal(finish.status, 303);
    assert.equal(finish.location, `${app.url}/dashboard?tab=1`);
    assert.notEqual(jar.get('hivekit.sid'), preLoginCookie, 'the session id must change at login');

    const response = await hop(`${app.url}/hivekit-access-token`, { jar, headers: SAME_ORIGIN });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = response.json as { authenticated: boolean; user: Record<string, unknown>; token: string; expiresAt: number };
    assert.equal(body.authenticated, true);
    assert.deepEqual(body.user, { sub: 'alice', name: 'Alice Example', email: 'alice@example.com' });
    const decoded = jwt.verify(body.token, TEST_HIVEKIT_SECRET, { algorithms: ['HS256'], complete: true });
    assert.deepEqual(decoded.header, { alg: 'HS256', typ: 'JWT', kid: 'kid-test' });
    const claims = decoded.payload as Record<string, unknown>;
    assert.deepEqual(Object.keys(claims).sort(), ['dpv', 'exp', 'iat', 'iss', 'jti', 'per', 'sub', 'tnd']);
    assert.equal(claims.tnd, 'tenant-test');
    assert.equal(claims.iss, 'platform.hivekit.io');
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.exp, (claims.iat as number) + 900);
    assert.equal(body.expiresAt, claims.exp);
    assert.match(String(claims.jti), /^[A-Za-z0-9_-]{21}$/);
  });

  it('GET /hivekit-access-token without a session returns 401 and no token', async () => {
    const response = await hop(`${app.url}/hivekit-access-token`);
    assert.equal(response.status, 401);
    assert.deepEqual(response.json, { authenticated: false });
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });

  it('the pre-login cookie gets 401 after the login it started', async () => {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const preLogin = jar.clone();
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users[0]!);
    await hop(callbackUrl, { jar });
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 200);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: preLogin })).status, 401);
  });

  it('a callback carrying another browser\'s state creates no session', async () => {
    const victim = new CookieJar();
    await hop(`${app.url}/login`, { jar: victim });
    const attacker = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar: attacker });
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users[1]!);
    const callback = await hop(callbackUrl, { jar: victim });
    assert.equal(callback.status, 303);
    assert.match(callback.location!, /\/\?login_error=(state_mismatch|login_expired)$/);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: victim })).status, 401);
  });

  it('a callback without a cookie answers state_mismatch, not a 500', async () => {
    const start = await hop(`${app.url}/login`, { jar: new CookieJar() });
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users[0]!);
    const callback = await hop(callbackUrl);
    assert.equal(callback.status, 303);
    assert.equal(callback.location, `${app.url}/?login_error=state_mismatch`);
  });

  it('a replayed callback creates no second session', async () => {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const preLogin = jar.clone();
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users[0]!);
    assert.equal((await hop(callbackUrl, { jar })).status, 303);
    const replay = await hop(callbackUrl, { jar: preLogin });
    assert.equal(replay.status, 303);
    assert.match(replay.location!, /login_error=state_mismatch/);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: preLogin })).status, 401);
  });

  it('the provider refuses a login without PKCE, so our login proves PKCE is sent', async () => {
    const start = await hop(`${app.url}/login`, { jar: new CookieJar() });
    const withoutPkce = new URL(start.location!);
    withoutPkce.searchParams.delete('code_challenge');
    withoutPkce.searchParams.delete('code_challenge_method');
    const refused = await hop(withoutPkce.toString());
    const location = new URL(refused.location!);
    assert.equal(`${location.origin}${location.pathname}`, `${app.url}/oauth2/redirect`);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });

  it('after the provider rotates its signing key, login works without a restart', async () => {
    await login('alice');
    await provider.rotateSigningKey();
    await new Promise((resolve) => setTimeout(resolve, JWKS_COOLDOWN_MS));
    const jar = await login('bob');
    const token = await hop(`${app.url}/hivekit-access-token`, { jar });
    assert.equal((token.json as { user: { sub: string } }).user.sub, 'bob');
  });

  it('logout deletes the session row, clears the cookie and sends the browser to the provider\'s end-session endpoint', async () => {
    const jar = await login('carol');
    const oldCookie = jar.clone();
    const before = await countSessions(app.dbPath);
    const logout = await hop(`${app.url}/logout`, { jar, method: 'POST', headers: SAME_ORIGIN });
    assert.equal(logout.status, 303);
    const endSession = new URL(logout.location!);
    assert.equal(endSession.origin, provider.issuer);
    assert.ok(endSession.searchParams.get('id_token_hint'));
    assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${app.url}/`);
    assert.equal(endSession.searchParams.get('client_id'), provider.clientId);
    // Some providers (Glewlwyd) only send the browser back to post_logout_redirect_uri with a state.
    assert.match(endSession.searchParams.get('state') ?? '', /^[\w-]{16,}$/);
    assert.equal(jar.get('hivekit.sid'), undefined, 'the cookie must be cleared');
    assert.equal(await countSessions(app.dbPath), before - 1);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: oldCookie })).status, 401);
  });

  it('a script asking to log out gets the end-session URL without the ID token', async () => {
    const jar = await login('alice');
    const logout = await hop(`${app.url}/logout`, { jar, method: 'POST', headers: { ...SAME_ORIGIN, accept: 'application/json' } });
    assert.equal(logout.status, 200);
    const { authenticated, redirectTo } = logout.json as { authenticated: boolean; redirectTo: string };
    assert.equal(authenticated, false);
    assert.equal(new URL(redirectTo).origin, provider.issuer);
    assert.equal(new URL(redirectTo).searchParams.get('id_token_hint'), null);
    assert.doesNotMatch(logout.text, /eyJ/);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
  });

  it('a cross-site logout is refused and leaves the session alive', async () => {
    const jar = await login('alice');
    const crossSite: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }];
    for (const headers of crossSite) {
      const logout = await hop(`${app.url}/logout`, { jar, method: 'POST', headers: { ...headers, accept: 'application/json' } });
      assert.equal(logout.status, 403);
      assert.equal((logout.json as { error: string }).error, 'cross_site_request');
    }
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 200);
  });

  it('a cross-site request for a token is refused', async () => {
    const jar = await login('alice');
    const response = await hop(`${app.url}/hivekit-access-token`, { jar, headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(response.status, 403);
    assert.doesNotMatch(response.text, /eyJ/);
  });

  it('a session created before a restart still gets a token after it', async () => {
    const jar = await login('bob');
    await app.stop();
    const listener = await reservePort();
    const restarted = await startTestApp({ issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, dbPath: app.dbPath, listener });
    try {
      const token = await hop(`${restarted.url}/hivekit-access-token`, { jar });
      assert.equal(token.status, 200);
      assert.equal((token.json as { user: { sub: string } }).user.sub, 'bob');
    } finally {
      await restarted.stop();
      app = { ...app, stop: async () => undefined };
    }
  });
});
