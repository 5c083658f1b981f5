import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider } from '../support/lying-provider.ts';
import { startTestApp } from '../support/test-app.ts';

const CLIENT_ID = 'proxy-client';

/** Starts a login with an https PUBLIC_URL and the given TRUST_PROXY; returns the session cookie it set, if any. */
async function sessionCookieAtLogin(issuer: string, trustProxy: string, headers: Record<string, string>): Promise<string | undefined> {
  const app = await startTestApp({ issuer, clientId: CLIENT_ID, clientSecret: 's', env: { PUBLIC_URL: 'https://bff.example', TRUST_PROXY: trustProxy } });
  try {
    // The Host the browser used, which the proxy passes on (a login starts only at PUBLIC_URL's host).
    const login = await getWithHost(`${app.url}/login`, { ...headers, host: 'bff.example' });
    assert.equal(login.status, 302);
    return login.setCookies.find((c) => c.startsWith('__Host-hivekit.sid='));
  } finally {
    await app.stop();
    await app.cleanup();
  }
}

/** A GET with headers fetch cannot send (Host). */
function getWithHost(url: string, headers: Record<string, string>): Promise<{ status: number; setCookies: string[] }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, setCookies: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the Secure session cookie behind a TLS-terminating proxy follows TRUST_PROXY', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  before(async () => { provider = await startLyingProvider({ clientId: CLIENT_ID }); });
  after(async () => { await provider.close(); });

  it('with TRUST_PROXY=false, X-Forwarded-Proto: https from the client itself does not get a Secure cookie sent over plain http', async () => {
    assert.equal(await sessionCookieAtLogin(provider.issuer, 'false', { 'x-forwarded-proto': 'https' }), undefined);
  });

  it('with TRUST_PROXY naming the proxy (loopback here), its X-Forwarded-Proto: https gets the __Host- Secure cookie', async () => {
    const cookie = await sessionCookieAtLogin(provider.issuer, 'loopback', { 'x-forwarded-proto': 'https' });
    assert.ok(cookie, 'no session cookie behind a trusted TLS-terminating proxy');
    assert.match(cookie, /; Secure/);
  });

  it('with a trusted proxy that says the hop was plain http, no Secure cookie is set', async () => {
    assert.equal(await sessionCookieAtLogin(provider.issuer, '1', { 'x-forwarded-proto': 'http' }), undefined);
  });
});
