import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'bff-header-client';
const PARTNER = 'https://partner.example';

describe('the token route wants X-Hivekit-BFF from callers without Fetch Metadata', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', env: { CORS_ALLOWED_ORIGINS: PARTNER } });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  async function logIn(): Promise<CookieJar> {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const callback = await hop((await hop(start.location!)).location!, { jar });
    assert.equal(callback.location, `${app.url}/`);
    return jar;
  }

  it('GET /hivekit-access-token with neither Sec-Fetch-Site nor X-Hivekit-BFF answers 403 cross_site_request naming the header, and no token', async () => {
    const jar = await logIn();
    const response = await hop(`${app.url}/hivekit-access-token`, { jar, bffHeader: false });
    assert.equal(response.status, 403);
    const body = response.json as { error: string; message: string };
    assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
    assert.equal(body.error, 'cross_site_request');
    assert.match(body.message, /X-Hivekit-BFF: 1/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.doesNotMatch(response.text, /eyJ/);
  });

  const cases: Array<[string, Record<string, string>, boolean, number]> = [
    ['a non-browser client sending X-Hivekit-BFF', {}, true, 200],
    ['an old browser on this origin (Origin only, no header)', { origin: 'ORIGIN' }, false, 403],
    ['an old browser on this origin sending X-Hivekit-BFF', { origin: 'ORIGIN' }, true, 200],
    ['an old browser on another site sending X-Hivekit-BFF anyway', { origin: 'https://evil.example' }, true, 403],
    ['an old browser on the CORS allow-list without the header', { origin: PARTNER }, false, 403],
    ['an old browser on the CORS allow-list sending X-Hivekit-BFF', { origin: PARTNER }, true, 200],
    ['a browser with Fetch Metadata (same-origin) and no header', { 'sec-fetch-site': 'same-origin' }, false, 200],
    ['the address bar (Sec-Fetch-Site: none) and no header', { 'sec-fetch-site': 'none' }, false, 200],
  ];
  for (const [who, headers, bffHeader, status] of cases) {
    it(`GET /hivekit-access-token from ${who} answers ${status}`, async () => {
      const jar = await logIn();
      const resolved = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === 'ORIGIN' ? app.url : v]));
      const response = await hop(`${app.url}/hivekit-access-token`, { jar, headers: resolved, bffHeader });
      assert.equal(response.status, status);
    });
  }

  it('POST /logout keeps its rules: a non-browser client without the header still logs out (a logout form cannot send one)', async () => {
    const jar = await logIn();
    const response = await hop(`${app.url}/logout`, { jar, method: 'POST', bffHeader: false, headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    assert.equal((response.json as { authenticated: boolean }).authenticated, false);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
  });
});
