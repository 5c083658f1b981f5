import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { createClient } from 'redis';
import { CookieJar } from '../support/cookie-jar.ts';
import { startNginx, type AccessLogEntry, type RunningNginx } from '../support/nginx.ts';
import { startTestProvider, TEST_USERS, type TestProvider } from '../support/oidc-test-provider.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import { startProduct, type RunningProduct } from '../support/start-product.ts';

const INSTANCES = 3;
const LOGIN_LIMIT = 5;
const REDIS_DB = 3;
const KEY_PREFIX = 'multi-instance-test:';
const HIVEKIT_SECRET = Buffer.alloc(32, 'multi-instance-hivekit-secret');
const REQUEST_TIMEOUT_MS = 5_000;
// Redis' failure and return must show within this; the product's command timeout is well below it.
const OUTAGE_BOUND_MS = 15_000;
const [alice, bob, carol] = TEST_USERS;

/**
 * Each phase talks from an address of its own on the loopback network (all of 127/8 is local on
 * Linux): nginx puts it in X-Forwarded-For, so the login limit, counted per client address, is
 * one phase's own and a count reached by one phase cannot leak into another.
 */
const FROM = {
  crossLogin: '127.0.0.10', logout: '127.0.0.11', limited: '127.0.0.20', otherClient: '127.0.0.21',
  outage: '127.0.0.30', recovery: '127.0.0.40', frozen: '127.0.0.50',
} as const;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  location: string | undefined;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** One hop as a browser makes it, from a chosen local address, without following redirects. */
function send(url: string, options: { from: string; jar?: CookieJar; method?: string; headers?: Record<string, string> }): Promise<Reply> {
  const target = new URL(url);
  const headers: Record<string, string> = { ...options.headers };
  const cookie = options.jar?.header();
  if (cookie) headers.cookie = cookie;
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? 'GET',
      headers, localAddress: options.from, agent: false, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    }, (res) => {
      options.jar?.store(res.headers['set-cookie']);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => {
        let json: Record<string, unknown> | undefined;
        try { json = JSON.parse(text) as Record<string, unknown>; } catch { json = undefined; }
        const location = res.headers.location === undefined ? undefined : new URL(res.headers.location, url).href;
        resolve({ status: res.statusCode!, headers: res.headers, location, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** What the token route asks of a non-browser caller without Fetch Metadata. */
const BFF_HEADER = { 'x-hivekit-bff': '1' };

async function waitFor<T>(what: string, attempt: () => Promise<T>, done: (value: T) => boolean, boundMs: number): Promise<T> {
  const deadline = Date.now() + boundMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await attempt();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what}: not within ${boundMs} ms; last: ${last === undefined ? String(lastError) : JSON.stringify(last)}`);
}

describe('three instances behind nginx round-robin, one Redis: any instance serves any request', () => {
  let redis: RunningRedis;
  let nginx: RunningNginx;
  let provider: TestProvider;
  const instances: RunningProduct[] = [];
  const dataDirs: string[] = [];
  let aliceJar: CookieJar;

  const upstreamOf = (instance: RunningProduct) => `127.0.0.1:${instance.env.PORT}`;
  const instanceAt = (upstream: string) => {
    const index = instances.findIndex((instance) => upstreamOf(instance) === upstream);
    assert.ok(index >= 0, `nginx sent a request to ${upstream}, none of the instances`);
    return index;
  };
  const nginxUrl = (path: string) => `${nginx.url}${path}`;
  const directUrl = (instance: RunningProduct, path: string) => `http://127.0.0.1:${instance.env.PORT}${path}`;

  /** nginx's own record of which instance answered each request made by `run`, in order. */
  async function servedBy(run: () => Promise<void>, expected: number): Promise<Array<AccessLogEntry & { instance: number }>> {
    const mark = (await nginx.accessLog()).length;
    await run();
    // nginx writes the line after the response has gone out: it may arrive a moment later.
    const entries = await waitFor('nginx access log lines', async () => (await nginx.accessLog()).slice(mark), (lines) => lines.length >= expected, 5_000);
    return entries.map((entry) => ({ ...entry, instance: instanceAt(entry.upstream) }));
  }

  /** Logs in through nginx hop by hop; returns the jar and the instance of each of the two hops. */
  async function login(credentials: typeof alice, from: string): Promise<{ jar: CookieJar; loginInstance: number; callbackInstance: number }> {
    const jar = new CookieJar();
    let start!: Reply;
    const [startHop] = await servedBy(async () => { start = await send(nginxUrl('/login?returnTo=/'), { from, jar }); }, 1);
    assert.equal(start.status, 302, `GET /login: ${start.status} ${start.text}`);
    assert.ok(start.location!.startsWith(`${provider.issuer}/`), start.location);
    const { callbackUrl } = await provider.login(start.location!, credentials);
    assert.ok(callbackUrl.startsWith(nginxUrl('/oauth2/redirect?')), `the provider sends the browser back through nginx: ${callbackUrl}`);
    let finish!: Reply;
    const [callbackHop] = await servedBy(async () => { finish = await send(callbackUrl, { from, jar }); }, 1);
    assert.equal(finish.location, nginxUrl('/'), `callback on instance ${callbackHop!.instance} after /login on ${startHop!.instance}: ${finish.status} ${finish.text}`);
    assert.equal(finish.status, 303);
    return { jar, loginInstance: startHop!.instance, callbackInstance: callbackHop!.instance };
  }

  function verifyToken(reply: Reply): jwt.JwtPayload {
    assert.equal(reply.status, 200, `token: ${reply.status} ${reply.text}`);
    return jwt.verify(reply.json!.token as string, HIVEKIT_SECRET, { algorithms: ['HS256'], issuer: 'platform.hivekit.io' }) as jwt.JwtPayload;
  }

  before(async () => {
    redis = await startRedisServer();
    // nginx's URL is the product's PUBLIC_URL and the provider's redirect_uri, so it is needed
    // before either starts; the port is held until nginx binds it.
    const held = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => held.once('listening', resolve));
    const nginxPort = (held.address() as AddressInfo).port;
    const publicUrl = `http://127.0.0.1:${nginxPort}`;
    try {
      provider = await startTestProvider({ redirectUri: `${publicUrl}/oauth2/redirect`, postLogoutRedirectUri: `${publicUrl}/` });
      const shared = {
        NODE_ENV: 'production',
        PUBLIC_URL: publicUrl,
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_SECRET: provider.clientSecret,
        SESSION_SECRET: 'one-session-secret-for-all-three-instances',
        HIVEKIT_TENANT_ID: 'multi-instance-tenant',
        HIVEKIT_SECRET: HIVEKIT_SECRET.toString('base64'),
        HIVEKIT_SECRET_ID: 'multi-instance-kid',
        SESSION_STORE: 'redis',
        REDIS_URL: `${redis.url}/${REDIS_DB}`,
        REDIS_KEY_PREFIX: KEY_PREFIX,
        // Exactly one proxy hop. "loopback" would also trust an X-Forwarded-For sent by this
        // test's client, which is on loopback too; production names nginx's address.
        TRUST_PROXY: '1',
        RATE_LIMIT_LOGIN_PER_MINUTE: String(LOGIN_LIMIT),
      };
      // A data folder each: only Redis can make them share anything.
      for (let i = 0; i < INSTANCES; i += 1) dataDirs.push(await mkdtemp(join(tmpdir(), `multi-instance-${i}-`)));
      instances.push(...await Promise.all(dataDirs.map((dir) => startProduct({ ...shared, DATA_DIR: dir }))));
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
    nginx = await startNginx({ backends: instances.map((instance) => instance.url), port: nginxPort });
  });

  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await nginx?.stop();
    await provider?.close();
    await redis?.stop();
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    for (const [index, instance] of instances.entries()) assert.match(instance.output(), /"event":"stopped"/, `instance ${index} did not stop cleanly`);
  });

  it('a login whose /login and callback land on different instances succeeds, and its session is in Redis', async () => {
    const result = await login(alice, FROM.crossLogin);
    aliceJar = result.jar;
    assert.notEqual(result.callbackInstance, result.loginInstance, 'round-robin sent the callback to another instance');
    // The instances' own word for it: the callback's instance logged the login, the other did not.
    await waitFor('login logged by the callback instance', async () => instances[result.callbackInstance]!.output(), (out) => /"event":"login".*"sub":"alice"/.test(out), 2_000);
    assert.doesNotMatch(instances[result.loginInstance]!.output(), /"event":"login"/);

    const client = createClient({ url: `${redis.url}/${REDIS_DB}` });
    await client.connect();
    try {
      const keys = await client.keys(`${KEY_PREFIX}*`);
      assert.ok(keys.length > 0, `no key under ${KEY_PREFIX} in database ${REDIS_DB}`);
    } finally {
      await client.quit();
    }
    const log = await nginx.accessLogText();
    assert.match(log, /"path":"\/oauth2\/redirect"/);
    assert.doesNotMatch(log, /code=|state=|returnTo|\?/, 'nginx logs paths without their query strings');
  });

  it('tokens minted by every instance carry the same sub', async () => {
    const replies: Reply[] = [];
    const hops = await servedBy(async () => {
      for (let i = 0; i < INSTANCES; i += 1) replies.push(await send(nginxUrl('/hivekit-access-token'), { from: FROM.crossLogin, jar: aliceJar, headers: BFF_HEADER }));
    }, INSTANCES);
    assert.deepEqual(new Set(hops.map((hop) => hop.instance)), new Set(instances.map((_, i) => i)), 'one token request reached each instance');
    const claims = replies.map(verifyToken);
    assert.deepEqual(claims.map((c) => c.sub), instances.map(() => alice!.username));
    assert.equal(new Set(claims.map((c) => c.jti)).size, INSTANCES, 'each instance minted its own token');
  });

  it('a logout through one instance is refused by the other instances at their next token request', async () => {
    const { jar } = await login(bob, FROM.logout);
    // Every instance serves this session once first, so whatever each remembers about it is warm.
    for (const instance of instances) verifyToken(await send(directUrl(instance, '/hivekit-access-token'), { from: FROM.logout, jar, headers: BFF_HEADER }));
    const stolen = jar.clone();
    let logout!: Reply;
    const [logoutHop] = await servedBy(async () => {
      logout = await send(nginxUrl('/logout'), { from: FROM.logout, jar, method: 'POST', headers: { origin: nginx.url, 'sec-fetch-site': 'same-origin' } });
    }, 1);
    assert.equal(logout.status, 303, `logout: ${logout.status} ${logout.text}`);
    const others = instances.map((_, i) => i).filter((i) => i !== logoutHop!.instance);
    for (const other of others) {
      const reply = await send(directUrl(instances[other]!, '/hivekit-access-token'), { from: FROM.logout, jar: stolen, headers: BFF_HEADER });
      assert.equal(reply.status, 401, `instance ${other} after logout on instance ${logoutHop!.instance}: ${reply.status} ${reply.text}`);
      assert.deepEqual(reply.json, { authenticated: false });
    }
  });

  it(`the login limit is counted once for all instances: the ${LOGIN_LIMIT + 1}th login from one address is refused, wherever it lands`, async () => {
    const statuses: number[] = [];
    const hops = await servedBy(async () => {
      for (let i = 0; i < LOGIN_LIMIT + INSTANCES; i += 1) statuses.push((await send(nginxUrl('/login?returnTo=/'), { from: FROM.limited })).status);
    }, LOGIN_LIMIT + INSTANCES);
    assert.deepEqual(statuses, [...Array(LOGIN_LIMIT).fill(302), ...Array(INSTANCES).fill(429)]);
    // Each instance saw fewer than the limit before the refusals: a limit per instance refuses nothing here.
    for (let i = 0; i < INSTANCES; i += 1) assert.ok(hops.slice(0, LOGIN_LIMIT).filter((hop) => hop.instance === i).length < LOGIN_LIMIT);
    assert.deepEqual(new Set(hops.slice(LOGIN_LIMIT).map((hop) => hop.instance)).size, INSTANCES, 'every instance refused one');
    // Counted per client address as nginx forwards it, not per proxy: another client still gets in.
    assert.equal((await send(nginxUrl('/login?returnTo=/'), { from: FROM.otherClient })).status, 302);
  });

  it('Redis stopped: every instance answers 503 on /readyz, the token route and /login, stays alive and answers /healthz', async () => {
    await redis.stop();
    for (const [index, instance] of instances.entries()) {
      const ready = await waitFor(`instance ${index} /readyz 503`, () => send(directUrl(instance, '/readyz'), { from: FROM.outage }), (r) => r.status === 503, OUTAGE_BOUND_MS);
      assert.match(ready.text, /redis/i, `the readiness body names Redis (issue 12): ${ready.text}`);
      const token = await waitFor(`instance ${index} token 503`, () => send(directUrl(instance, '/hivekit-access-token'), { from: FROM.outage, jar: aliceJar, headers: BFF_HEADER }), (r) => r.status !== 200, OUTAGE_BOUND_MS);
      assert.equal(token.status, 503, `token on instance ${index}: ${token.status} ${token.text}`);
      assert.equal(token.json?.error, 'session_store_unavailable');
      assert.equal(token.json?.token, undefined);
      const start = await send(directUrl(instance, '/login?returnTo=/'), { from: FROM.outage, headers: { accept: 'application/json' } });
      assert.equal(start.status, 503, `login on instance ${index}: ${start.status} ${start.text}`);
      assert.equal(start.json?.error, 'session_store_unavailable');
      assert.equal((await send(directUrl(instance, '/healthz'), { from: FROM.outage })).status, 200);
    }
    // And through nginx, as users meet it.
    for (let i = 0; i < INSTANCES; i += 1) {
      assert.equal((await send(nginxUrl('/hivekit-access-token'), { from: FROM.outage, jar: aliceJar, headers: BFF_HEADER })).status, 503);
    }
    for (const [index, instance] of instances.entries()) {
      assert.equal(instance.child.exitCode, null, `instance ${index} exited:\n${instance.output()}`);
      assert.doesNotMatch(instance.output(), /"status":500|unhandled_rejection|uncaught/i, `instance ${index}`);
    }
  });

  it('Redis back (empty): every instance is ready again by itself and a new login across instances works', async () => {
    await redis.start();
    for (const [index, instance] of instances.entries()) {
      await waitFor(`instance ${index} /readyz 200`, () => send(directUrl(instance, '/readyz'), { from: FROM.recovery }), (r) => r.status === 200, OUTAGE_BOUND_MS);
    }
    // Its sessions went with Redis' memory (no persistence here): signed out, not an error.
    assert.equal((await send(nginxUrl('/hivekit-access-token'), { from: FROM.recovery, jar: aliceJar, headers: BFF_HEADER })).status, 401);
    const { jar, loginInstance, callbackInstance } = await login(carol, FROM.recovery);
    assert.notEqual(callbackInstance, loginInstance);
    const replies: Reply[] = [];
    await servedBy(async () => {
      for (let i = 0; i < INSTANCES; i += 1) replies.push(await send(nginxUrl('/hivekit-access-token'), { from: FROM.recovery, jar, headers: BFF_HEADER }));
    }, INSTANCES);
    assert.deepEqual(replies.map(verifyToken).map((c) => c.sub), instances.map(() => carol!.username));
    for (const instance of instances) assert.equal(instance.child.exitCode, null);
  });

  it('Redis frozen (connections open, no answers): 503s within a bounded time, no request hangs, and back when it answers', async () => {
    const { jar } = await login(alice, FROM.frozen);
    redis.pause();
    try {
      for (const [index, instance] of instances.entries()) {
        const started = Date.now();
        const token = await send(directUrl(instance, '/hivekit-access-token'), { from: FROM.frozen, jar, headers: BFF_HEADER });
        assert.equal(token.status, 503, `token on instance ${index} with Redis frozen: ${token.status} ${token.text}`);
        assert.equal(token.json?.error, 'session_store_unavailable');
        assert.ok(Date.now() - started < REQUEST_TIMEOUT_MS, 'answered within the request timeout');
        await waitFor(`instance ${index} /readyz 503`, () => send(directUrl(instance, '/readyz'), { from: FROM.frozen }), (r) => r.status === 503, OUTAGE_BOUND_MS);
      }
    } finally {
      redis.resume();
    }
    for (const [index, instance] of instances.entries()) {
      await waitFor(`instance ${index} token 200 after Redis answers again`, () => send(directUrl(instance, '/hivekit-access-token'), { from: FROM.frozen, jar, headers: BFF_HEADER }), (r) => r.status === 200, OUTAGE_BOUND_MS);
      assert.equal(instance.child.exitCode, null);
    }
  });
});
