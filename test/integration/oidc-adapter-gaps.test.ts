import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider, type IdTokenFlaw } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { logFromNowOn } from '../support/log-from-now-on.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'lying-client';

async function loginThrough(app: TestApp, jar: CookieJar) {
  const start = await hop(`${app.url}/login`, { jar });
  const authorize = await hop(start.location!);
  return hop(authorize.location!, { jar });
}

describe('the OIDC adapter against a provider that lies', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID, clientSecret: 'lying-secret-of-sufficient-length-0123' });
    app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 'lying-secret-of-sufficient-length-0123' });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  it('sends a PKCE S256 challenge, a nonce and a redirect_uri from PUBLIC_URL, not the Host header', async () => {
    const start = await hop(`${app.url}/login`, { jar: new CookieJar(), headers: { host: 'evil.example' } });
    assert.equal(start.status, 302);
    const location = new URL(start.location!);
    assert.equal(`${location.origin}${location.pathname}`, `${provider.issuer}/authorize`);
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.match(location.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((location.searchParams.get('nonce') ?? '').length >= 20);
    assert.equal(location.searchParams.get('redirect_uri'), `${app.url}/oauth2/redirect`);
  });

  it('a truthful ID token signs the user in, and the token request carries the PKCE verifier', async () => {
    provider.state.flaw = 'none';
    provider.state.userinfo = 'json';
    const jar = new CookieJar();
    const callback = await loginThrough(app, jar);
    assert.equal(callback.status, 303);
    assert.equal(callback.location, `${app.url}/`);
    assert.match(provider.state.lastTokenBody.code_verifier ?? '', /^[A-Za-z0-9_-]{43}$/);
    const token = await hop(`${app.url}/hivekit-access-token`, { jar });
    assert.equal(token.status, 200);
  });

  const flaws: IdTokenFlaw[] = ['bad-signature', 'alg-none', 'wrong-issuer', 'wrong-audience', 'wrong-nonce', 'expired',
    'hs256-client-secret', 'null-payload', 'object-sub', 'unknown-kid'];
  for (const flaw of flaws) {
    it(`an ID token with ${flaw} creates no session and answers a clean error`, async () => {
      provider.state.flaw = flaw;
      const jar = new CookieJar();
      const callback = await loginThrough(app, jar);
      assert.equal(callback.status, 303);
      assert.equal(callback.location, `${app.url}/?login_error=provider_error`);
      const token = await hop(`${app.url}/hivekit-access-token`, { jar });
      assert.equal(token.status, 401);
      assert.deepEqual(token.json, { authenticated: false });
    });
  }

  for (const answer of ['html', 'other-subject', 'huge'] as const) {
    it(`a userinfo answer that is ${answer} gives a clean error and the process lives`, async () => {
      provider.state.flaw = 'none';
      provider.state.userinfo = answer;
      const jar = new CookieJar();
      const callback = await loginThrough(app, jar);
      assert.equal(callback.location, `${app.url}/?login_error=provider_error`);
      assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
      assert.equal((await hop(`${app.url}/healthz`)).status, 200);
    });
  }

  it('an error response from the provider is believed only with this browser\'s state', async () => {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const state = new URL(start.location!).searchParams.get('state')!;
    const forged = await hop(`${app.url}/oauth2/redirect?error=access_denied&state=not-yours`, { jar: new CookieJar() });
    assert.equal(forged.location, `${app.url}/?login_error=state_mismatch`);
    const genuine = await hop(`${app.url}/oauth2/redirect?error=access_denied&error_description=ID%20token%20whatever&state=${state}`, { jar });
    assert.equal(genuine.location, `${app.url}/?login_error=access_denied`);
    const spent = await hop(`${app.url}/oauth2/redirect?error=access_denied&state=${state}`, { jar });
    assert.equal(spent.location, `${app.url}/?login_error=state_mismatch`);
  });

  it('a callback without a code or an error is refused without starting a new login', async () => {
    const response = await hop(`${app.url}/oauth2/redirect?state=x`, { jar: new CookieJar() });
    assert.equal(response.location, `${app.url}/?login_error=login_failed`);
  });

  it('a discovery document naming another issuer is refused', async () => {
    const other = await startTestApp({ issuer: `${provider.issuer}/`, clientId: CLIENT_ID, clientSecret: 'x' });
    try {
      const start = await hop(`${other.url}/login`, { headers: { accept: 'application/json' } });
      assert.equal(start.status, 502);
      assert.equal((start.json as { error: string }).error, 'provider_error');
    } finally {
      await other.stop();
      await other.cleanup();
    }
  });

  it('a login, a token request and a refused login write no code, token or cookie value into the log', async () => {
    const log = logFromNowOn(app.logger);
    provider.state.flaw = 'none';
    provider.state.userinfo = 'json';
    const jar = new CookieJar();
    assert.equal((await loginThrough(app, jar)).location, `${app.url}/`);
    const token = await hop(`${app.url}/hivekit-access-token`, { jar });
    assert.equal(token.status, 200);
    provider.state.flaw = 'wrong-nonce';
    assert.equal((await loginThrough(app, new CookieJar())).location, `${app.url}/?login_error=provider_error`);

    const events = log().map((entry) => entry.event);
    for (const event of ['login', 'login_refused', 'request']) assert.ok(events.includes(event), `no ${event} entry in ${events.join(', ')}`);
    const text = JSON.stringify(log());
    assert.doesNotMatch(text, /code-from-lying-provider/);
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}/);
    assert.doesNotMatch(text, /hivekit\.sid/);
    const cookie = jar.get('hivekit.sid') ?? '';
    assert.ok(cookie.length > 20 && !text.includes(cookie) && !text.includes(decodeURIComponent(cookie)), 'the session cookie\'s value is in the log');
    assert.ok(!text.includes((token.json as { token: string }).token), 'the minted token is in the log');
  });
});
