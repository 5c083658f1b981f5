import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider, type Endpoint, type Outage } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestApp } from '../support/test-app.ts';

const CLIENT_ID = 'failing-client';
const PROVIDER_HTTP = { timeoutMs: 300, maxBytes: 512 * 1024 };
const JSON_CALLER = { accept: 'application/json' };
// Could not talk to the provider → 503; it answered something unusable → 502.
const EXPECTED: Record<Outage | 'stopped', { status: number; code: string }> = {
  stopped: { status: 503, code: 'provider_unavailable' },
  hang: { status: 503, code: 'provider_unavailable' },
  error500: { status: 503, code: 'provider_unavailable' },
  html: { status: 502, code: 'provider_error' },
  huge: { status: 502, code: 'provider_error' },
};

describe('a provider that is down, slow or answers garbage', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID });
  });
  after(async () => {
    await provider.close();
  });

  async function breakProvider(outage: Outage | 'stopped', endpoint: Endpoint) {
    if (outage === 'stopped') await provider.stop();
    else provider.state.outages.set(endpoint, outage);
  }
  async function healProvider() {
    await provider.restart();
    provider.state.outages.clear();
  }
  async function waitUntilReady(url: string) {
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const ready = await hop(`${url}/readyz`);
      if (ready.status === 200 && (ready.json as { checks: { provider: boolean } }).checks.provider) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail('/readyz never reported the provider up again');
  }

  for (const outage of ['stopped', 'hang', 'error500', 'html', 'huge'] as const) {
    it(`discovery ${outage}: login answers ${EXPECTED[outage].status}, /readyz stays ready (tokens for existing sessions still work) and reports the provider down, and both recover when the provider does`, async () => {
      const fresh = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', providerHttp: PROVIDER_HTTP });
      try {
        await breakProvider(outage, 'discovery');
        const login = await hop(`${fresh.url}/login`, { headers: JSON_CALLER });
        assert.equal(login.status, EXPECTED[outage].status);
        assert.equal((login.json as { error: string }).error, EXPECTED[outage].code);
        const page = await hop(`${fresh.url}/login`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
        assert.equal(page.status, EXPECTED[outage].status);
        assert.match(page.text, /<h1>The identity provider/);
        const ready = await hop(`${fresh.url}/readyz`);
        assert.equal(ready.status, 200);
        assert.deepEqual((ready.json as { checks: object }).checks, { sessionStore: true, signingKey: true, provider: false });
        assert.equal((await hop(`${fresh.url}/healthz`)).status, 200);

        await healProvider();
        await waitUntilReady(fresh.url);
        assert.equal((await hop(`${fresh.url}/login`, { jar: new CookieJar() })).status, 302);
      } finally {
        await healProvider();
        await fresh.stop();
        await fresh.cleanup();
      }
    });
  }

  for (const endpoint of ['token', 'jwks'] as const) {
    for (const outage of ['stopped', 'hang', 'error500', 'html', 'huge'] as const) {
      it(`${endpoint} ${outage} during login: the callback explains it, no session, and the next login works`, async () => {
        // A fresh app has no JWKS cached yet; a warm one would (rightly) not need the provider's.
        const target = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', providerHttp: PROVIDER_HTTP });
        try {
          const jar = new CookieJar();
          const start = await hop(`${target.url}/login`, { jar });
          const authorize = await hop(start.location!);
          await breakProvider(outage, endpoint);
          try {
            const callback = await hop(authorize.location!, { jar });
            assert.equal(callback.status, 303);
            assert.equal(callback.location, `${target.url}/?login_error=${EXPECTED[outage].code}`);
            assert.equal((await hop(`${target.url}/hivekit-access-token`, { jar })).status, 401);
            assert.equal((await hop(`${target.url}/healthz`)).status, 200);
          } finally {
            await healProvider();
          }
          const retry = new CookieJar();
          const again = await hop(`${target.url}/login`, { jar: retry });
          const done = await hop((await hop(again.location!)).location!, { jar: retry });
          assert.equal(done.location, `${target.url}/`);
          assert.equal((await hop(`${target.url}/hivekit-access-token`, { jar: retry })).status, 200);
        } finally {
          await target.stop();
          await target.cleanup();
        }
      });
    }
  }

  // The lying provider's bodies: 'Maintenance' in its HTML page, a run of 'x' in its huge answer.
  const PROVIDER_BODY = /Maintenance|xxxxxxxxxx/;
  const LOGGED_DETAIL: Record<'discovery' | 'token' | 'jwks', Record<'html' | 'huge', string>> = {
    discovery: { html: 'discovery: the answer is not a JSON object', huge: 'discovery: answer of 10485774 bytes exceeds the 524288-byte cap' },
    token: { html: 'token: the answer is not a JSON object', huge: 'token: answer of 10485774 bytes exceeds the 524288-byte cap' },
    // jose parses the key set itself and reports an HTML one only as a generic failure.
    jwks: { html: 'id token rejected: ERR_JOSE_GENERIC', huge: 'jwks: answer of 10485774 bytes exceeds the 524288-byte cap' },
  };
  for (const endpoint of ['discovery', 'token', 'jwks'] as const) {
    for (const outage of ['html', 'huge'] as const) {
      it(`${endpoint} ${outage}: the failure is logged once, naming what went wrong, without the body the provider sent`, async () => {
        const target = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', providerHttp: PROVIDER_HTTP });
        try {
          if (endpoint === 'discovery') {
            await breakProvider(outage, endpoint);
            assert.equal((await hop(`${target.url}/login`, { headers: JSON_CALLER })).status, 502);
          } else {
            const jar = new CookieJar();
            const authorize = await hop((await hop(`${target.url}/login`, { jar })).location!);
            await breakProvider(outage, endpoint);
            assert.equal((await hop(authorize.location!, { jar })).location, `${target.url}/?login_error=provider_error`);
          }
          const event = endpoint === 'discovery' ? 'provider_metadata_failed' : 'login_refused';
          const failures = target.logger.entries.filter((entry) => entry.event === event);
          assert.equal(failures.length, 1, JSON.stringify(target.logger.entries));
          assert.equal(failures[0]!.fields.detail, LOGGED_DETAIL[endpoint][outage]);
          assert.doesNotMatch(JSON.stringify(target.logger.entries), PROVIDER_BODY);
        } finally {
          await healProvider();
          await target.stop();
          await target.cleanup();
        }
      });
    }
  }
});
