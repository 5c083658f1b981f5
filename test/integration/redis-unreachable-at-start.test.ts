import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import { reservePort, startTestApp, type TestApp } from '../support/test-app.ts';

describe('an instance started while its Redis is down', () => {
  let redis: RunningRedis;
  let provider: TestProvider;
  let app: TestApp;

  before(async () => {
    redis = await startRedisServer();
    await redis.stop();
    const listener = await reservePort();
    provider = await startTestProvider({ redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/` });
    app = await startTestApp({
      issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener,
      env: { SESSION_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'at-start:', RATE_LIMIT_LOGIN_PER_MINUTE: '50' },
    });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
    await redis.stop();
  });

  it('starts, says not ready naming Redis, and answers logins and tokens 503 session_store_unavailable', async () => {
    const ready = await hop(`${app.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(JSON.stringify(ready.json), /Redis/);
    const login = await hop(`${app.url}/login`, { headers: { accept: 'application/json' } });
    assert.equal(login.status, 503);
    assert.equal((login.json as { error: string }).error, 'session_store_unavailable');
    const token = await hop(`${app.url}/hivekit-access-token`, { headers: { cookie: 'hivekit.sid=s%3Aforged.sig' } });
    assert.notEqual(token.status, 500);
    assert.doesNotMatch(JSON.stringify(app.logger.entries), new RegExp(`${redis.url}|unhandled`));
  });

  it('recovers by itself when Redis comes up: ready, and a whole login works (the login limit counts again)', async () => {
    await redis.start();
    const deadline = Date.now() + 10_000;
    while ((await hop(`${app.url}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('not ready 10 s after Redis came up');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    assert.equal(start.status, 302);
    const { callbackUrl } = await provider.login(start.location!);
    assert.equal((await hop(callbackUrl, { jar })).status, 303);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 200);
  });
});
