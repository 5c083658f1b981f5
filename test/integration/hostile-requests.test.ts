import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'hostile-client';

/** A raw request, for what fetch refuses to send (oversized headers, broken encodings). */
function rawRequest(url: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({ host: target.hostname, port: target.port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hostile requests', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    app = await startTestApp({
      issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's',
      env: { CORS_ALLOWED_ORIGINS: 'https://partner.example' },
    });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  async function login(returnTo?: string): Promise<{ jar: CookieJar; landing: string }> {
    const jar = new CookieJar();
    const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
    const start = await hop(`${app.url}/login${query}`, { jar });
    const callback = await hop((await hop(start.location!)).location!, { jar });
    return { jar, landing: callback.location! };
  }

  describe('cross-site requests', () => {
    const cases: Array<[string, Record<string, string>, number]> = [
      ['same-origin fetch (Sec-Fetch-Site: same-origin)', { 'sec-fetch-site': 'same-origin' }, 200],
      ['the address bar (Sec-Fetch-Site: none)', { 'sec-fetch-site': 'none' }, 200],
      ['a non-browser client with the cookie and no browser headers', {}, 200],
      ['an old browser on this origin (Origin only)', { origin: 'ORIGIN' }, 200],
      ['another site (Sec-Fetch-Site: cross-site)', { 'sec-fetch-site': 'cross-site' }, 403],
      ['a sibling subdomain (Sec-Fetch-Site: same-site)', { 'sec-fetch-site': 'same-site' }, 403],
      ['an old browser on another site (Origin only)', { origin: 'https://evil.example' }, 403],
      ['another site sending the custom header anyway', { 'sec-fetch-site': 'cross-site', 'x-hivekit-bff': '1' }, 403],
      ['an allow-listed CORS origin', { 'sec-fetch-site': 'same-site', origin: 'https://partner.example' }, 200],
    ];
    for (const [who, headers, status] of cases) {
      it(`GET /hivekit-access-token from ${who} answers ${status}`, async () => {
        const { jar } = await login();
        const resolved = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === 'ORIGIN' ? app.url : v]));
        const response = await hop(`${app.url}/hivekit-access-token`, { jar, headers: resolved });
        assert.equal(response.status, status);
        if (status === 403) {
          assert.deepEqual(Object.keys(response.json as object).sort(), ['error', 'message']);
          assert.doesNotMatch(response.text, /eyJ/);
        }
      });
    }

    it('CORS answers only the allow-listed origin, with credentials and Vary: Origin, never a wildcard or a reflection', async () => {
      const { jar } = await login();
      const allowed = await hop(`${app.url}/hivekit-access-token`, { jar, headers: { origin: 'https://partner.example' } });
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://partner.example');
      assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
      assert.match(allowed.headers.get('vary') ?? '', /Origin/);
      const other = await hop(`${app.url}/hivekit-access-token`, { jar, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const preflight = await hop(`${app.url}/hivekit-access-token`, {
        method: 'OPTIONS', headers: { origin: 'https://partner.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-hivekit-bff' },
      });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Hivekit-BFF/i);
    });
  });

  it('OPTIONS answers a route\'s methods in Allow, and 404 for a path that is not a route', async () => {
    const allowed = await Promise.all(['/login', '/logout', '/hivekit-access-token'].map((path) => hop(`${app.url}${path}`, { method: 'OPTIONS' })));
    assert.deepEqual(allowed.map((r) => [r.status, r.headers.get('allow')]), [[200, 'GET, HEAD'], [200, 'POST'], [200, 'GET, HEAD']]);
    assert.equal((await hop(`${app.url}/no-such-route`, { method: 'OPTIONS' })).status, 404);
  });

  describe('security headers', () => {
    for (const path of ['/', '/healthz', '/no-such-page', '/logout']) {
      it(`${path} carries CSP, nosniff, Referrer-Policy and frame protection, and no X-Powered-By`, async () => {
        const response = await hop(`${app.url}${path}`);
        const csp = response.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/);
        assert.match(csp, /frame-ancestors 'none'/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
        assert.equal(response.headers.get('x-frame-options'), 'DENY');
        assert.equal(response.headers.get('x-powered-by'), null);
        assert.equal(response.headers.get('strict-transport-security'), null, 'no HSTS over plain http');
      });
    }

    it('the token route\'s JSON carries the OWASP REST set: a CSP allowing nothing, no framing, nosniff, CORP, and no document-only header', async () => {
      for (const headers of [{}, { 'x-hivekit-bff': '1' }] as Array<Record<string, string>>) {
        const response = await hop(`${app.url}/hivekit-access-token`, { headers });
        assert.equal(response.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none'");
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(response.headers.get('x-frame-options'), 'DENY');
        assert.equal(response.headers.get('cross-origin-resource-policy'), 'same-origin');
        assert.equal(response.headers.get('cache-control'), 'no-store');
        for (const documentOnly of ['referrer-policy', 'cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection', 'x-powered-by', 'strict-transport-security']) {
          assert.equal(response.headers.get(documentOnly), null, `${documentOnly} on the token route (status ${response.status})`);
        }
      }
      const preflight = await hop(`${app.url}/hivekit-access-token`, { method: 'OPTIONS' });
      assert.equal(preflight.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none'");
    });

    it('with an https PUBLIC_URL: HSTS, and a __Host- Secure cookie even though TLS ended at the (trusted) proxy', async () => {
      const secure = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', env: { PUBLIC_URL: 'https://bff.example', TRUST_PROXY: 'loopback' } });
      try {
        const response = await hop(`${secure.url}/healthz`);
        assert.match(response.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
        assert.match((await hop(`${secure.url}/hivekit-access-token`)).headers.get('strict-transport-security') ?? '', /max-age=31536000/);
        // What the proxy passes on: the scheme and the host the browser used.
        const login = await hop(`${secure.url}/login`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'bff.example' } });
        const cookie = login.headers.getSetCookie().find((c) => c.startsWith('__Host-hivekit.sid='));
        assert.ok(cookie, 'no session cookie behind a TLS-terminating proxy');
        assert.match(cookie, /; Secure/);
        assert.match(cookie, /; HttpOnly/);
        assert.match(cookie, /; SameSite=Lax/);
      } finally {
        await secure.stop();
        await secure.cleanup();
      }
    });
  });

  describe('rate limits', () => {
    it('login and token routes answer 429 with Retry-After past their limit, and recover when their one-minute window ends', async () => {
      // Far from the real time, so that a limit reading Date.now() instead of this clock cannot pass.
      let time = Date.UTC(2031, 0, 1);
      const limited = await startTestApp({
        issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's',
        env: { RATE_LIMIT_LOGIN_PER_MINUTE: '3', RATE_LIMIT_TOKEN_PER_MINUTE: '5' },
        deps: { now: () => time },
      });
      try {
        const logins = async (count: number) => {
          const answers = [];
          for (let i = 0; i < count; i += 1) answers.push(await hop(`${limited.url}/login`, { headers: { accept: 'application/json' } }));
          return answers;
        };
        const tokens = async (count: number) => {
          const answers = [];
          for (let i = 0; i < count; i += 1) answers.push(await hop(`${limited.url}/hivekit-access-token`));
          return answers;
        };
        const starts = await logins(4);
        assert.deepEqual(starts.map((r) => r.status), [302, 302, 302, 429]);
        assert.equal(starts[3]!.headers.get('retry-after'), '60');
        assert.equal((starts[3]!.json as { error: string }).error, 'rate_limited');
        const anonymous = await tokens(6);
        assert.deepEqual(anonymous.map((r) => r.status), [401, 401, 401, 401, 401, 429]);
        assert.equal(anonymous[5]!.headers.get('retry-after'), '60');

        time += 59_500;
        const [loginLate] = await logins(1);
        const [tokenLate] = await tokens(1);
        assert.deepEqual([loginLate!.status, tokenLate!.status], [429, 429], 'still refused half a second before the window ends');
        assert.deepEqual([loginLate!.headers.get('retry-after'), tokenLate!.headers.get('retry-after')], ['1', '1']);

        time += 500;
        assert.deepEqual((await logins(4)).map((r) => r.status), [302, 302, 302, 429], 'a new window with the whole limit');
        assert.deepEqual((await tokens(6)).map((r) => r.status), [401, 401, 401, 401, 401, 429]);
      } finally {
        await limited.stop();
        await limited.cleanup();
      }
    });
  });

  describe('open redirects through returnTo', () => {
    const corpus = [
      '//evil.example', '/\\evil.example', '\\/evil.example', 'https:evil.example', 'https://evil.example',
      'javascript:alert(document.cookie)', 'java\tscript:alert(1)', '/\t/evil.example', '/\n/evil.example',
      '/\r/evil.example', ' //evil.example', '%2F%2Fevil.example', '/%09/evil.example', '/%5Cevil.example',
      '///evil.example', '/.//evil.example', 'http:/evil.example', '\u3002evil.example', '//evil.example@app',
      '/\\/evil.example', '\u0000//evil.example',
    ];
    for (const returnTo of corpus) {
      it(`a login with returnTo ${JSON.stringify(returnTo)} lands on this origin`, async () => {
        const { landing } = await login(returnTo);
        const url = new URL(landing);
        assert.equal(url.origin, app.url);
        // And as a browser would resolve it, tabs and newlines stripped:
        assert.equal(new URL(landing.replace(/[\t\n\r]/g, ''), app.url).origin, app.url);
      });
    }
    it('a local returnTo survives the login', async () => {
      assert.equal((await login('/dashboard?x=1#top')).landing, `${app.url}/dashboard?x=1#top`);
    });
  });

  describe('oversized and malformed input', () => {
    it('a forged, truncated or malformed session cookie is simply not signed in', async () => {
      for (const cookie of ['hivekit.sid=s%3Aforged.signature', 'hivekit.sid=%%%', 'hivekit.sid=', `hivekit.sid=${'a'.repeat(4000)}`, 'hivekit.sid=s%3A\u00ff']) {
        const response = await hop(`${app.url}/hivekit-access-token`, { headers: { cookie } });
        assert.equal(response.status, 401, cookie.slice(0, 30));
      }
    });

    it('headers over 16 KB are refused with 431 and the server stays up', async () => {
      assert.equal(await rawRequest(app.url, '/hivekit-access-token', { cookie: `hivekit.sid=${'a'.repeat(20_000)}` }), 431);
      assert.equal(await rawRequest(app.url, '/healthz', { 'x-filler': 'b'.repeat(20_000) }), 431);
      assert.equal((await hop(`${app.url}/healthz`)).status, 200);
    });

    it('malformed paths and parameters answer 4xx, never 500', async () => {
      const paths = [
        '/%E0%A4%A', '/login?returnTo=%E0%A4%A', '/login?returnTo[]=/a&returnTo[]=/b', '/login?returnTo[x]=1',
        `/login?returnTo=/${'a'.repeat(8000)}`, '/oauth2/redirect?code[]=a&state[]=b', '/oauth2/redirect?code=a&code=b&state=c&state=d',
        '/oauth2/redirect?error=access_denied&error_description=%3Cscript%3E', '/oauth2/redirect?error=server_error', '/oauth2/redirect',
        '/hivekit-access-token?x=%00', '/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/public/../package.json',
      ];
      for (const path of paths) {
        const status = await rawRequest(app.url, path);
        assert.ok(status >= 200 && status < 500, `${path.slice(0, 50)} answered ${status}`);
      }
    });

    it('a provider error with a forged state and no session answers state_mismatch, not the provider\'s access_denied, and echoes none of its text', async () => {
      const response = await hop(`${app.url}/oauth2/redirect?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=x`, { jar: new CookieJar() });
      assert.equal(response.status, 303);
      // The state is checked before the error is read: another site cannot make us show "access denied".
      assert.equal(response.location, `${app.url}/?login_error=state_mismatch`);
      assert.doesNotMatch(response.text, /script|alert/);
    });

    it('request bodies are not read: a large POST /logout body answers without buffering it', async () => {
      const response = await hop(`${app.url}/logout`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: 'x'.repeat(1_000_000) });
      assert.ok(response.status < 500);
    });
  });
});
