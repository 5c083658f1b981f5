import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { callProvider } from '../../server/auth/provider-http.ts';
import { startLyingProvider } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { logFromNowOn } from '../support/log-from-now-on.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'timeout-client';
const PROVIDER_HTTP = { timeoutMs: 300, maxBytes: 512 * 1024 };

describe('timeouts of calls to the provider', () => {
  const hanging = new Set<ServerResponse>();
  const silent = createServer((_req, res) => { hanging.add(res); });
  let silentUrl = '';
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;

  before(async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', providerHttp: PROVIDER_HTTP });
  });
  after(async () => {
    for (const res of hanging) res.destroy();
    silent.closeAllConnections();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  it('a provider call ends when its caller\'s signal aborts, long before its own timeout', { timeout: 5000 }, async () => {
    const started = Date.now();
    const signal = AbortSignal.timeout(100);
    await assert.rejects(
      callProvider(`${silentUrl}/jwks`, { signal }, 'jwks', { timeoutMs: 30_000, maxBytes: 1024 }),
      // The caller's own reason, so that the caller (jose) can tell its timeout from any other failure.
      (error: Error) => error === signal.reason,
    );
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  it('a provider call without a signal of its caller still ends at its own timeout', { timeout: 5000 }, async () => {
    await assert.rejects(
      callProvider(`${silentUrl}/token`, {}, 'token', { timeoutMs: 100, maxBytes: 1024 }),
      { name: 'AppError', code: 'provider_unavailable', detail: 'token: no answer within 100 ms' },
    );
  });

  it('a JWKS that never answers ends the login through jose\'s own timeout: provider_unavailable, no session', async () => {
    const log = logFromNowOn(app.logger);
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const authorize = await hop(start.location!);
    provider.state.outages.set('jwks', 'hang');
    try {
      const callback = await hop(authorize.location!, { jar });
      assert.equal(callback.location, `${app.url}/?login_error=provider_unavailable`);
    } finally {
      provider.state.outages.clear();
    }
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
    const refusals = log().filter((entry) => entry.event === 'login_refused');
    assert.deepEqual(refusals.map((entry) => entry.fields.detail), ['jwks: no answer in time']);
  });
});
