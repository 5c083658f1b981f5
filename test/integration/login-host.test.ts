import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider } from '../support/lying-provider.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/** A GET with the Host header the test chooses (fetch always sends the URL's own). */
function getWithHost(url: string, host: string): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host, accept: 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('outside dev mode, a login starts only at PUBLIC_URL\'s host', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;

  before(async () => {
    provider = await startLyingProvider({ clientId: 'host-client' });
    app = await startTestApp({ issuer: provider.issuer, clientId: 'host-client', clientSecret: 's' });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  it('a login asked for at another host is refused with wrong_host, naming PUBLIC_URL, and sets no cookie', async () => {
    const answer = await getWithHost(`${app.url}/login?returnTo=/x`, 'localhost:1');
    assert.equal(answer.status, 400);
    const body = JSON.parse(answer.body) as { error: string; message: string };
    assert.equal(body.error, 'wrong_host');
    assert.ok(body.message.includes(app.url), body.message);
    assert.equal(answer.location, undefined);
  });

  it('a login at PUBLIC_URL\'s host goes to the provider as before', async () => {
    const answer = await getWithHost(`${app.url}/login?returnTo=/x`, new URL(app.url).host);
    assert.equal(answer.status, 302);
    assert.ok(answer.location?.startsWith(provider.issuer));
  });
});
