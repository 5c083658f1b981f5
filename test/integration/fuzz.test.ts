import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'fuzz-client';
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MAX_REQUESTS = 1500;
const MAX_MS = 8000;

/** mulberry32: small, seedable, good enough to replay a failing run exactly. */
function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const bytes = (max: number) => Buffer.from(Array.from({ length: int(max) }, () => int(256)));
  return { next, int, pick, bytes };
}

type Random = ReturnType<typeof createRandom>;

const ROUTES = ['/', '/login', '/oauth2/redirect', '/logout', '/hivekit-access-token', '/healthz', '/readyz', '/app.js', '/styles.css', '/nope'];
const PARAMS = ['returnTo', 'code', 'state', 'error', 'error_description', 'iss', 'session_state'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'];

function mutate(random: Random, text: string): string {
  const chars = [...text];
  const edits = 1 + random.int(4);
  for (let i = 0; i < edits; i += 1) {
    const at = random.int(chars.length + 1);
    const kind = random.int(4);
    if (kind === 0) chars.splice(at, 1);
    else if (kind === 1) chars.splice(at, 0, encodeURIComponent(random.bytes(6).toString('latin1')));
    else if (kind === 2) chars.splice(at, 0, random.pick(['/', '//', '\\', '%', '%00', '..', '?', '&', '=', '#', '[]', '%ff', ';']));
    else chars.splice(at, 0, 'A'.repeat(random.int(3000)));
  }
  return chars.join('');
}

function randomValue(random: Random): string {
  return random.pick([
    () => encodeURIComponent(random.bytes(40).toString('latin1')),
    () => encodeURIComponent(random.bytes(40).toString('utf8')),
    () => random.pick(['/', '//evil.example', 'javascript:x', '%E0%A4%A', '', 'a'.repeat(5000)]),
    () => mutate(random, '/dashboard?x=1'),
  ])();
}

function randomRequest(random: Random, sessionCookie: string) {
  const route = random.next() < 0.8 ? random.pick(ROUTES) : mutate(random, random.pick(ROUTES));
  const query = Array.from({ length: random.int(4) }, () => `${random.pick(PARAMS)}${random.next() < 0.1 ? '[]' : ''}=${randomValue(random)}`).join('&');
  const headers: Record<string, string> = {};
  if (random.next() < 0.6) headers.cookie = random.next() < 0.5 ? sessionCookie : mutate(random, sessionCookie);
  if (random.next() < 0.5) headers['sec-fetch-site'] = random.pick(['same-origin', 'same-site', 'cross-site', 'none', 'garbage']);
  if (random.next() < 0.3) headers.origin = random.pick(['https://evil.example', 'null', '', mutate(random, 'http://127.0.0.1')]);
  if (random.next() < 0.5) headers.accept = random.pick(['application/json', 'text/html', '*/*', mutate(random, 'text/html')]);
  if (random.next() < 0.3) headers['content-type'] = random.pick(['application/json', 'application/x-www-form-urlencoded', 'text/plain']);
  const method = random.pick(METHODS);
  const body = method === 'GET' || method === 'HEAD' ? undefined : random.bytes(2000);
  // Node's client refuses some bytes in a path; the server must still face everything else.
  const path = `${route}${query ? `?${query}` : ''}`.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
  return { method, path, headers, body };
}

function send(url: string, req: ReturnType<typeof randomRequest>): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    // A connection per request: Node's client sends a DELETE or OPTIONS body without a length, so
    // those bytes reach the server as a malformed next request, which it rightly answers 400 and
    // closes; a kept-alive connection would hand that close to whichever request came next.
    const client = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.path, headers: req.headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    client.on('error', reject);
    client.end(req.body);
  });
}

describe(`fuzzing every route (seed ${SEED}; replay with FUZZ_SEED=${SEED})`, () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;

  before(async () => {
    process.stdout.write(`# fuzz seed: ${SEED} (replay: FUZZ_SEED=${SEED} npm run test:integration)\n`);
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's' });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  it('random bytes and mutations of valid requests never get a 5xx, and the server stays up', async () => {
    const random = createRandom(SEED);
    const login = async () => {
      const jar = new CookieJar();
      const start = await hop(`${app.url}/login`, { jar });
      await hop((await hop(start.location!)).location!, { jar });
      return jar;
    };
    // The fuzzer may log its own session out (that is a valid request); the witness is never sent.
    const sessionCookie = (await login()).header();
    const witness = await login();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const deadline = Date.now() + MAX_MS;
    let sent = 0;
    while (sent < MAX_REQUESTS && Date.now() < deadline) {
      const req = randomRequest(random, sessionCookie);
      sent += 1;
      let status: number;
      try {
        status = await send(app.url, req);
      } catch (error) {
        failures.push(`#${sent} ${req.method} ${req.path.slice(0, 80)}: ${(error as Error).message}`);
        continue;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500) failures.push(`#${sent} ${req.method} ${req.path.slice(0, 80)} → ${status}`);
    }
    process.stdout.write(`# fuzz: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    assert.deepEqual(failures, [], `seed ${SEED}`);
    assert.ok(sent >= 200, `only ${sent} requests in ${MAX_MS} ms`);
    assert.equal((await hop(`${app.url}/healthz`)).status, 200);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: witness })).status, 200, 'another session survived the fuzzing');
  });
});
