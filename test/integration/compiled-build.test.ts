import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { buildDist, startCompiled, type CompiledProduct } from '../support/compiled-product.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { freePort } from '../support/start-product.ts';

const HIVEKIT_SECRET = randomBytes(32);

describe('the compiled build (npm run build, then node dist/server/main.js) in production', () => {
  let dir: string;
  let provider: TestProvider;
  let product: CompiledProduct;
  const modulesFile = () => join(dir, 'modules.txt');
  const secrets: string[] = [];
  const requestIds: string[] = [];
  let env: Record<string, string>;
  let metricsUrl: string;
  let metricsBefore: string;
  const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

  before(async () => {
    await buildDist();
    dir = await mkdtemp(join(tmpdir(), 'compiled-build-'));
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
    const publicUrl = `http://127.0.0.1:${port}`;
    provider = await startTestProvider({ redirectUri: `${publicUrl}/oauth2/redirect`, postLogoutRedirectUri: `${publicUrl}/` });
    env = {
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      DATA_DIR: dir,
      HIVEKIT_TENANT_ID: 'compiled-tenant',
      HIVEKIT_SECRET: HIVEKIT_SECRET.toString('base64'),
      HIVEKIT_SECRET_ID: 'compiled-kid',
      RECORD_LOADED_MODULES: modulesFile(),
      METRICS_PORT: new URL(metricsUrl).port,
      SHUTDOWN_DRAIN_SECONDS: '1',
      SHUTDOWN_GRACE_SECONDS: '5',
    };
    product = await startCompiled(env, { nodeArgs: ['--import', './test/support/record-loaded-modules.mjs'] });
  });

  after(async () => {
    if (product && product.child.exitCode === null) { product.child.kill('SIGKILL'); await product.exited; }
    await provider?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts without tsx and without dev mode\'s modules, and is ready at once', async () => {
    const commandLine = (await readFile(`/proc/${product.child.pid}/cmdline`, 'utf8')).split('\0').join(' ');
    assert.match(commandLine, /dist\/server\/main\.js/);
    assert.doesNotMatch(commandLine, /tsx/);
    const modules = (await readFile(modulesFile(), 'utf8')).split('\n').filter(Boolean);
    assert.ok(modules.some((url) => url.endsWith('/dist/server/main.js')), 'the recorder saw the entry point');
    assert.deepEqual(modules.filter((url) => /\/node_modules\/(tsx|esbuild|oidc-provider)\//.test(url)), []);
    assert.deepEqual(modules.filter((url) => /\/dist\/server\/dev\/(dev-mode|embedded-provider)\.js$/.test(url) || url.endsWith('.ts')), []);
    assert.equal((await hop(`${product.url}/readyz`)).status, 200);
    process.stdout.write(`# compiled build: ${Math.round(product.startMs)} ms from spawn to listening\n`);
    metricsBefore = await (await fetch(metricsUrl)).text();
  });

  it('warns once, at start and at the first X-Forwarded-For, that TRUST_PROXY is off', async () => {
    assert.match(product.output(), /"event":"config_warning","setting":"TRUST_PROXY","message":"TRUST_PROXY is false/);
    for (let i = 0; i < 2; i += 1) assert.equal((await hop(`${product.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const warnings = product.output().split('\n').filter((line) => line.includes('"event":"forwarded_for_ignored"'));
    assert.equal(warnings.length, 1, product.output());
    assert.match(warnings[0]!, /"level":"warn".*TRUST_PROXY/);
  });

  it('answers a full login, a token and a logout', async () => {
    const jar = new CookieJar();
    const start = await hop(`${product.url}/login?returnTo=/`, { jar });
    assert.equal(start.status, 302, start.text);
    const { callbackUrl } = await provider.login(start.location!);
    const callback = await hop(callbackUrl, { jar });
    assert.equal(callback.status, 303, callback.text);
    assert.equal(callback.location, `${product.url}/`);
    secrets.push(new URL(callbackUrl).searchParams.get('code')!, new URL(callbackUrl).searchParams.get('state')!, ...jar.header().split('; ').map((pair) => pair.split('=')[1]!));
    const token = await hop(`${product.url}/hivekit-access-token`, { jar });
    assert.equal(token.status, 200, token.text);
    secrets.push((token.json as { token: string }).token);
    requestIds.push(start.headers.get('x-request-id')!, callback.headers.get('x-request-id')!, token.headers.get('x-request-id')!);
    const claims = jwt.verify((token.json as { token: string }).token, HIVEKIT_SECRET, { algorithms: ['HS256'], complete: true });
    assert.equal(claims.header.kid, 'compiled-kid');
    assert.equal((claims.payload as jwt.JwtPayload).sub, 'alice');
    const page = await hop(`${product.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<html/i, 'the demo page is served from public/ by the compiled build');
    const logout = await hop(`${product.url}/logout`, { jar, method: 'POST', headers: { origin: product.url } });
    assert.equal(logout.status, 303);
    assert.equal((await hop(`${product.url}/hivekit-access-token`, { jar })).status, 401);
    // Errors: a replayed callback (its code and state again), a cross-site token request, a forged cookie.
    assert.equal((await hop(callbackUrl, { jar })).status, 303);
    assert.equal((await hop(`${product.url}/hivekit-access-token`, { bffHeader: false, headers: { 'sec-fetch-site': 'cross-site', cookie: callback.headers.getSetCookie()[0]!.split(';')[0]! } })).status, 403);
    assert.equal((await hop(`${product.url}/hivekit-access-token`, { headers: { cookie: 'hivekit.sid=s%3Aforged-session-id.forgedsignature' } })).status, 401);
  });

  it('the log of that run holds no token, code, state, cookie or secret, and a request id per request', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const log = product.output();
    for (const secret of [...secrets, 'forged-session-id', provider.clientSecret, env.SESSION_SECRET!, env.HIVEKIT_SECRET!]) {
      assert.ok(secret.length >= 8, `a value to look for: ${secret}`);
      assert.equal(log.includes(secret), false, `the log holds ${secret.slice(0, 12)}…`);
    }
    const lines = log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.event === 'request');
    assert.ok(requests.length >= 9, `${requests.length} request lines`);
    for (const line of requests) {
      assert.match(String(line.reqId), /^[\w-]+-[0-9a-z]+$/);
      assert.equal(line.client, '127.0.0.1');
    }
    assert.equal(new Set(requests.map((line) => line.reqId)).size, requests.length, 'one id per request');
    for (const id of requestIds) assert.ok(requests.some((line) => line.reqId === id), `the X-Request-Id ${id} is in the log`);
    const login = lines.find((line) => line.event === 'login');
    assert.equal(login?.reqId, requestIds[1], 'the login line carries the callback\'s request id');
  });

  it('/metrics on its own port counted the login, the tokens and the refusals, with no user identifier anywhere', async () => {
    assert.equal((await hop(`${product.url}/metrics`)).status, 404, 'not on the public listener');
    const response = await fetch(metricsUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^text\/plain/);
    const after = await response.text();
    const grew = (name: string, by: number) => assert.equal(metric(after, name) - metric(metricsBefore, name), by, `${name}\n${after}`);
    grew('hivekit_bff_tokens_minted_total', 1);
    grew('hivekit_bff_tokens_refused_total{code="unauthenticated"}', 2);
    grew('hivekit_bff_tokens_refused_total{code="cross_site_request"}', 1);
    grew('hivekit_bff_logins_total{outcome="success",code=""}', 1);
    assert.ok(metric(after, 'hivekit_bff_logins_total{outcome="refused",code="state_mismatch"}') + metric(after, 'hivekit_bff_logins_total{outcome="refused",code="login_expired"}') === 1, 'the replayed callback');
    assert.ok(metric(after, 'hivekit_bff_provider_calls_total{endpoint="token",outcome="answered"}') >= 1);
    assert.ok(metric(after, 'hivekit_bff_provider_calls_total{endpoint="jwks",outcome="answered"}') >= 1);
    assert.equal(metric(after, 'hivekit_bff_provider_up'), 1);
    assert.ok(metric(after, 'hivekit_bff_session_store_writes_total{store="SQLite"}') >= 2);
    assert.match(after, /^hivekit_bff_login_callback_duration_seconds_count 2$/m);
    assert.match(after, /^hivekit_bff_policy_version 0$/m);
    assert.match(after, /^process_resident_memory_bytes \d+/m);
    for (const identifier of ['alice', 'Alice', 'example.com', '127.0.0.1', '203.0.113.7', ...secrets]) {
      assert.equal(after.includes(identifier), false, `the metrics hold ${identifier.slice(0, 12)}`);
    }
  });

  it('SIGTERM: /readyz answers 503 while the listener still serves for SHUTDOWN_DRAIN_SECONDS, then exit 0', async () => {
    product.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ready = await hop(`${product.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal((ready.json as { status: string }).status, 'draining');
    assert.equal((await hop(`${product.url}/healthz`)).status, 200, 'still serving during the drain');
    assert.equal(await product.exited, 0, product.output());
    const events = product.output().split('\n').filter((line) => line.startsWith('{')).map((line) => (JSON.parse(line) as { event: string }).event);
    assert.equal(events.at(-1), 'stopped');
    assert.ok(events.includes('shutting_down'));
  });
});
