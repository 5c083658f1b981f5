import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'steady-client';
const IDLE_SECONDS = 3600;

describe('the token route in steady state (the properties behind its speed)', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;
  let clockOffsetMs = 0;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    app = await startTestApp({
      issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's',
      // Claims re-validation writes once per max age by design (session-lifecycle.test.ts): kept out of the way here.
      env: { SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS), SESSION_SECRET: `${'n'.repeat(32)},${'o'.repeat(32)}`, CLAIMS_MAX_AGE_SECONDS: '86400' },
      deps: { now: () => Date.now() + clockOffsetMs },
    });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  async function login(): Promise<CookieJar> {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    await hop((await hop(start.location!)).location!, { jar });
    return jar;
  }

  it('repeated token requests write nothing to the session store', async () => {
    const jar = await login();
    const writes = app.sessionStore.writeCount();
    for (let i = 0; i < 50; i += 1) assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 200);
    assert.equal(app.sessionStore.writeCount(), writes);
  });

  it('an active session is extended by at most one write per interval, and an idle one expires on time', async () => {
    const active = await login();
    const idle = await login();
    try {
      const writes = app.sessionStore.writeCount();
      // Used every minute for 90 minutes: past the one-hour idle timeout, alive, with few writes.
      for (let minute = 1; minute <= 90; minute += 1) {
        clockOffsetMs = minute * 60_000;
        assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: active })).status, 200, `minute ${minute}`);
      }
      assert.ok(app.sessionStore.writeCount() - writes <= 18, `${app.sessionStore.writeCount() - writes} writes in 90 requests`);
      assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: idle })).status, 401);
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('a logged-out session is refused at once', async () => {
    const jar = await login();
    const cookie = jar.clone();
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 200);
    await hop(`${app.url}/logout`, { jar, method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: cookie })).status, 401);
  });

  it('a cookie signed with an older secret of the rotation list still reads, a forged one does not', async () => {
    const jar = await login();
    const value = decodeURIComponent(jar.get('hivekit.sid')!);
    const sid = value.slice(2, value.lastIndexOf('.'));
    const { sign } = await import('cookie-signature');
    const olderSecret = `s:${sign(sid, 'o'.repeat(32))}`;
    const forged = `s:${sign(sid, 'f'.repeat(32))}`;
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { headers: { cookie: `hivekit.sid=${encodeURIComponent(olderSecret)}` } })).status, 200);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { headers: { cookie: `hivekit.sid=${encodeURIComponent(forged)}` } })).status, 401);
  });

  it('logs one line per token request, carrying the mint but never the token', async () => {
    const jar = await login();
    const before = app.logger.entries.length;
    const response = await hop(`${app.url}/hivekit-access-token`, { jar });
    const lines = app.logger.entries.slice(before);
    assert.equal(lines.length, 1);
    const mint = lines[0]!.fields.mint as { jti: string; sub: string };
    assert.equal(mint.sub, 'user-1');
    assert.equal(mint.jti, JSON.parse(Buffer.from((response.json as { token: string }).token.split('.')[1]!, 'base64url').toString()).jti);
    assert.doesNotMatch(JSON.stringify(lines), /eyJ/);
  });
});
