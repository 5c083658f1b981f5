import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTokenClient,
  TokenClientError,
  type ResponseLike,
  type TokenClientOptions,
  type TokenState,
} from '../../public/hivekit-token-client.js';

const START_MS = Date.UTC(2030, 0, 1, 12, 0, 0);
const ADA = { sub: 'user-1', name: 'Ada', email: 'ada@example.test' };
const BOB = { sub: 'user-2', name: 'Bob' };
const SECOND = 1000;

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
type Script = Reply | Error | 'hang' | (() => Promise<ResponseLike>);

// Timers run only when the test advances the clock, in due order, with pending promise
// callbacks flushed between them, so each test reads like a timeline.
function createFakeClock() {
  let time = START_MS;
  let nextId = 1;
  const timers = new Map<number, { at: number; run: () => void }>();
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => time,
    setTimeout: (run: () => void, ms: number) => {
      const id = nextId++;
      timers.set(id, { at: time + ms, run });
      return id;
    },
    clearTimeout: (id: number) => {
      timers.delete(id);
    },
    pendingTimers: () => timers.size,
    flush,
    async advance(ms: number) {
      const end = time + ms;
      for (;;) {
        await flush();
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort(([, a], [, b]) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due[0]);
        time = due[1].at;
        due[1].run();
      }
      time = end;
      await flush();
    },
    /** Moves time without firing timers, as when a laptop wakes before its timers catch up. */
    jump(ms: number) {
      time += ms;
    },
  };
}

function createFakeServer(clock: { now(): number }) {
  const script: Script[] = [];
  const calls: Array<{ url: string; init: RequestInit; at: number }> = [];
  let minted = 0;
  const fetch = (url: string, init: RequestInit): Promise<ResponseLike> => {
    calls.push({ url, init, at: clock.now() });
    const next = script.shift();
    if (next === undefined) return Promise.reject(new Error(`unexpected request #${calls.length}`));
    if (next === 'hang') {
      return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    if (next instanceof Error) return Promise.reject(next);
    if (typeof next === 'function') return next();
    return Promise.resolve(toResponse(next));
  };
  return {
    fetch,
    calls,
    reply: (...items: Script[]) => script.push(...items),
    /** A 200 answer with a fresh token that expires ttlSeconds from the server's `now`. */
    token(ttlSeconds = 900, serverNowMs = clock.now(), user: { sub: string; name?: string } = ADA): Reply {
      minted += 1;
      return {
        status: 200,
        headers: { date: new Date(serverNowMs).toUTCString() },
        body: {
          authenticated: true,
          user,
          token: `token-${minted}`,
          expiresAt: Math.floor(serverNowMs / SECOND) + ttlSeconds,
        },
      };
    },
  };
}

function toResponse(reply: Reply): ResponseLike {
  const headers = new Map(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status: reply.status,
    headers: { get: (name) => headers.get(name.toLowerCase()) ?? null },
    json: () => (reply.body === undefined ? Promise.reject(new SyntaxError('no body')) : Promise.resolve(reply.body)),
  };
}

function setup(options: Partial<TokenClientOptions> = {}) {
  const clock = createFakeClock();
  const server = createFakeServer(clock);
  const states: TokenState[] = [];
  const client = createTokenClient({
    fetch: server.fetch,
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    random: () => 0,
    ...options,
  });
  client.onChange((state) => states.push(state));
  return { clock, server, client, states };
}

async function rejection(promise: Promise<unknown>): Promise<TokenClientError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TokenClientError, `expected a TokenClientError, got ${String(error)}`);
  return error;
}

test('the first getToken() asks the token endpoint with the BFF header, same-origin credentials and no-store', async () => {
  const { server, client, states } = setup();
  server.reply(server.token());

  assert.equal(await client.getToken(), 'token-1');

  assert.equal(server.calls.length, 1);
  const { url, init } = server.calls[0]!;
  assert.equal(url, '/hivekit-access-token');
  assert.equal(init.method, 'GET');
  assert.equal(new Headers(init.headers).get('x-hivekit-bff'), '1');
  assert.equal(init.credentials, 'same-origin');
  assert.equal(init.cache, 'no-store');
  assert.equal(states.at(-1)?.status, 'signed-in');
  assert.equal(client.current()?.user.name, 'Ada');
});

test('getToken() returns the held token without a request until renewal is due', async () => {
  const { clock, server, client } = setup();
  server.reply(server.token(900));
  await client.getToken();

  clock.jump(800 * SECOND);
  assert.equal(await client.getToken(), 'token-1');
  assert.equal(server.calls.length, 1);
});

test('concurrent getToken() calls share one request', async () => {
  const { server, client } = setup();
  let answer: (r: ResponseLike) => void = () => {};
  server.reply(() => new Promise((resolve) => (answer = resolve)));

  const pending = [client.getToken(), client.getToken(), client.getToken()];
  await new Promise((resolve) => setImmediate(resolve));
  answer(toResponse(server.token()));

  assert.deepEqual(await Promise.all(pending), ['token-1', 'token-1', 'token-1']);
  assert.equal(server.calls.length, 1);
});

test('the timer renews 60 s before expiry when jitter is smallest and notifies listeners', async () => {
  const { clock, server, client, states } = setup({ random: () => 0 });
  server.reply(server.token(900), server.token(900));
  await client.getToken();

  await clock.advance(840 * SECOND - 1);
  assert.equal(server.calls.length, 1);
  await clock.advance(1);
  assert.equal(server.calls.length, 2);
  assert.equal(states.at(-1)?.session?.token, 'token-2');
  assert.equal(client.current()?.token, 'token-2');
});

test('the timer renews up to 90 s before expiry when jitter is largest', async () => {
  const { clock, server, client } = setup({ random: () => 0.999999 });
  server.reply(server.token(900), server.token(900));
  await client.getToken();

  await clock.advance(810 * SECOND - 1);
  assert.equal(server.calls.length, 1);
  await clock.advance(2);
  assert.equal(server.calls.length, 2);
});

test('a short-lived token is used for at least half its life before renewal', async () => {
  for (const [random, renewAfterMs] of [
    [0, 20 * SECOND],
    [0.999999, 15 * SECOND],
  ] as const) {
    const { clock, server, client } = setup({ random: () => random });
    server.reply(server.token(30), server.token(30));
    await client.getToken();

    await clock.advance(renewAfterMs - 1);
    assert.equal(server.calls.length, 1, `random=${random}: renewed too early`);
    await clock.advance(2);
    assert.equal(server.calls.length, 2, `random=${random}: not renewed`);
    client.stop();
  }
});

test('getToken() renews lazily when the renewal timer has not run yet, e.g. after sleep', async () => {
  const { clock, server, client } = setup();
  server.reply(server.token(900), server.token(900));
  await client.getToken();

  clock.jump(850 * SECOND);
  assert.equal(await client.getToken(), 'token-2');
  assert.equal(server.calls.length, 2);
});

test('a token is renewed on the server clock when the browser clock is behind', async () => {
  const { clock, server, client } = setup();
  const serverAheadMs = 5 * 60 * SECOND;
  server.reply(server.token(900, clock.now() + serverAheadMs), server.token(900, clock.now() + serverAheadMs));
  await client.getToken();

  // Trusting the browser clock would put expiry 1200 s away and renew at 1140 s, after the
  // token has really expired.
  assert.equal(client.current()?.localExpiresAt, START_MS + 900 * SECOND);
  await clock.advance(840 * SECOND);
  assert.equal(server.calls.length, 2);
});

test('a 401 resolves null, reports signed-out and never retries on its own', async () => {
  const { clock, server, client, states } = setup();
  server.reply({ status: 401, body: { authenticated: false } });

  assert.equal(await client.getToken(), null);
  assert.equal(states.at(-1)?.status, 'signed-out');
  assert.equal(clock.pendingTimers(), 0);
  await clock.advance(3600 * SECOND);
  assert.equal(server.calls.length, 1);
});

test('a 401 during renewal drops the held token at once', async () => {
  const { clock, server, client, states } = setup();
  server.reply(server.token(900), { status: 401, body: { authenticated: false } });
  await client.getToken();

  await clock.advance(840 * SECOND);
  assert.equal(client.current(), null);
  assert.equal(states.at(-1)?.status, 'signed-out');
  await clock.advance(3600 * SECOND);
  assert.equal(server.calls.length, 2);
});

test('getToken() after sign-out asks the server again, so a login in another tab is picked up', async () => {
  const { server, client } = setup();
  server.reply({ status: 401, body: { authenticated: false } }, server.token());
  assert.equal(await client.getToken(), null);

  assert.equal(await client.getToken(), 'token-1');
  assert.equal(server.calls.length, 2);
});

test('network errors are retried with exponential back-off from 1 s, capped at 30 s', async () => {
  const { clock, server, client } = setup({ random: () => 0.999999 });
  server.reply(...Array.from({ length: 8 }, () => new TypeError('Failed to fetch')));

  const error = await rejection(client.getToken());
  assert.equal(error.code, 'network_error');
  await clock.advance(200 * SECOND);

  const gapsSeconds = server.calls.slice(1, 8).map((call, i) => Math.round((call.at - server.calls[i]!.at) / SECOND));
  assert.deepEqual(gapsSeconds, [1, 2, 4, 8, 16, 30, 30]);
});

test('back-off waits are jittered within the upper half of each step', async () => {
  const { clock, server, client } = setup({ random: () => 0 });
  server.reply(...Array.from({ length: 4 }, () => new TypeError('Failed to fetch')));

  await rejection(client.getToken());
  await clock.advance(8 * SECOND);

  const gapsMs = server.calls.slice(1, 4).map((call, i) => call.at - server.calls[i]!.at);
  assert.deepEqual(gapsMs, [500, 1000, 2000]);
});

test('getToken() during back-off rejects with the last error instead of sending a request', async () => {
  const { clock, server, client } = setup();
  server.reply({ status: 503, body: { error: 'store_unavailable', message: 'Sessions are unavailable.' } });
  await rejection(client.getToken());

  clock.jump(100);
  const error = await rejection(client.getToken());
  assert.equal(error.code, 'store_unavailable');
  assert.equal(error.message, 'Sessions are unavailable.');
  assert.equal(server.calls.length, 1);
});

test('a success after failures resets the back-off', async () => {
  const { clock, server, client } = setup({ random: () => 0.999999 });
  server.reply(new TypeError('Failed to fetch'), new TypeError('Failed to fetch'), server.token(900));
  await rejection(client.getToken());
  await clock.advance(3 * SECOND);
  assert.equal(client.current()?.token, 'token-1');

  server.reply(new TypeError('Failed to fetch'), server.token(900));
  clock.jump(900 * SECOND);
  await rejection(client.getToken());
  const failedAt = clock.now();
  await clock.advance(SECOND);
  assert.equal(Math.round(server.calls.at(-1)!.at - failedAt), SECOND, 'the first retry after recovery waits 1 s again');
});

test('a 5xx is reported with the server code and message and retried', async () => {
  const { clock, server, client, states } = setup();
  server.reply({ status: 502, body: { error: 'provider_unavailable', message: 'The provider is down.' } }, server.token());

  const error = await rejection(client.getToken());
  assert.equal(error.status, 502);
  assert.equal(error.retryable, true);
  assert.equal(states.at(-1)?.status, 'error');
  assert.equal(states.at(-1)?.retryAt, clock.now() + 500);

  await clock.advance(500);
  assert.equal(states.at(-1)?.status, 'signed-in');
});

test('a 429 waits for Retry-After seconds before asking again', async () => {
  const { clock, server, client } = setup();
  server.reply({ status: 429, headers: { 'Retry-After': '20' }, body: { error: 'rate_limited', message: 'Slow down.' } }, server.token());

  const error = await rejection(client.getToken());
  assert.equal(error.retryAfterMs, 20 * SECOND);
  await clock.advance(20 * SECOND - 1);
  assert.equal(server.calls.length, 1);
  await clock.advance(1);
  assert.equal(server.calls.length, 2);
});

test('a 429 Retry-After given as an HTTP date is measured on the server clock', async () => {
  const { clock, server, client } = setup();
  const serverNow = clock.now() + 3600 * SECOND;
  server.reply(
    {
      status: 429,
      headers: { 'Retry-After': new Date(serverNow + 30 * SECOND).toUTCString(), Date: new Date(serverNow).toUTCString() },
    },
    server.token(900, serverNow),
  );

  await rejection(client.getToken());
  await clock.advance(30 * SECOND - 1);
  assert.equal(server.calls.length, 1);
  await clock.advance(1);
  assert.equal(server.calls.length, 2);
});

test('a failed renewal keeps serving the still-valid token while retrying', async () => {
  const { clock, server, client, states } = setup();
  server.reply(server.token(900), { status: 503, body: { error: 'unavailable', message: 'Try later.' } }, server.token(900));
  await client.getToken();

  await clock.advance(840 * SECOND);
  assert.equal(states.at(-1)?.status, 'signed-in');
  assert.equal(states.at(-1)?.error?.code, 'unavailable');
  assert.equal(await client.getToken(), 'token-1');

  await clock.advance(SECOND);
  assert.equal(await client.getToken(), 'token-2');
});

test('a 403 cross-site refusal is reported and not retried', async () => {
  const { clock, server, client } = setup();
  server.reply({ status: 403, body: { error: 'cross_site_request', message: 'Refused.' } });

  const error = await rejection(client.getToken());
  assert.equal(error.code, 'cross_site_request');
  assert.equal(error.retryable, false);
  await clock.advance(3600 * SECOND);
  assert.equal(server.calls.length, 1);
});

test('a 404 (no token endpoint) is an error state, not a crash or a retry loop', async () => {
  const { clock, server, client, states } = setup();
  server.reply({ status: 404 });

  const error = await rejection(client.getToken());
  assert.equal(error.code, 'http_404');
  assert.equal(states.at(-1)?.status, 'error');
  await clock.advance(3600 * SECOND);
  assert.equal(server.calls.length, 1);
});

test('an unreadable 200 answer is a transient error', async () => {
  const { clock, server, client } = setup();
  server.reply({ status: 200, body: '<html>captive portal</html>' }, server.token());

  assert.equal((await rejection(client.getToken())).code, 'invalid_response');
  await clock.advance(SECOND);
  assert.equal(client.current()?.token, 'token-1');
});

test('a request that hangs times out, releases waiting callers and is retried', async () => {
  const { clock, server, client } = setup({ requestTimeoutMs: 10 * SECOND });
  server.reply('hang', server.token());

  const pending = rejection(client.getToken());
  await clock.advance(10 * SECOND);
  assert.equal((await pending).code, 'timeout');
  assert.equal((server.calls[0]!.init.signal as AbortSignal).aborted, true);

  await clock.advance(SECOND);
  assert.equal(client.current()?.token, 'token-1');
});

test('stop() cancels renewal and the request in flight', async () => {
  const { clock, server, client } = setup();
  server.reply(server.token(900), 'hang');
  await client.getToken();
  await clock.advance(840 * SECOND);
  assert.equal(server.calls.length, 2);

  client.stop();
  assert.equal((server.calls[1]!.init.signal as AbortSignal).aborted, true);
  await clock.advance(3600 * SECOND);
  assert.equal(server.calls.length, 2);
  assert.equal((await rejection(client.getToken())).code, 'stopped');
});

test('an unsubscribed listener hears nothing more', async () => {
  const { server, client } = setup();
  const heard: TokenState[] = [];
  const unsubscribe = client.onChange((state) => heard.push(state));
  server.reply(server.token());
  unsubscribe();

  await client.getToken();
  assert.equal(heard.length, 0);
});

test('the token lives only in memory: no storage, cookie, or URL ever sees it', async () => {
  const touched: string[] = [];
  const trap = (name: string) =>
    new Proxy(
      {},
      {
        get: (_, key) => (touched.push(`${name}.${String(key)}`), () => undefined),
        set: (_, key) => (touched.push(`${name}.${String(key)}=`), true),
      },
    );
  const globals = ['localStorage', 'sessionStorage', 'document', 'indexedDB', 'caches'] as const;
  const saved = globals.map((name) => Object.getOwnPropertyDescriptor(globalThis, name));
  for (const name of globals) {
    Object.defineProperty(globalThis, name, { configurable: true, get: () => (touched.push(name), trap(name)) });
  }
  try {
    const { clock, server, client } = setup();
    server.reply(server.token(900), server.token(900), new TypeError('Failed to fetch'), { status: 401 });
    await client.getToken();
    await clock.advance(900 * SECOND);
    await clock.advance(900 * SECOND);

    assert.equal(server.calls.length, 4);
    for (const { url, init } of server.calls) {
      assert.doesNotMatch(`${url} ${JSON.stringify(init.headers)}`, /token-\d/);
    }
  } finally {
    globals.forEach((name, i) => {
      const descriptor = saved[i];
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete (globalThis as Record<string, unknown>)[name];
    });
  }
  assert.deepEqual(touched, []);
});

test('a renewal that brings another user\'s token reports user-changed with both users, then signed-in at the next renewal', async () => {
  const { clock, server, client, states } = setup();
  server.reply(server.token(900));
  assert.equal(await client.getToken(), 'token-1');

  // Another tab logged out and in as Bob: the same cookie now belongs to Bob's session.
  server.reply(server.token(900, clock.now() + 840 * SECOND, BOB));
  await clock.advance(840 * SECOND);

  const changed = states.at(-1)!;
  assert.equal(changed.status, 'user-changed');
  assert.equal(changed.session?.user.sub, 'user-2');
  assert.equal(changed.previousUser?.sub, 'user-1');
  assert.equal(changed.previousUser?.name, 'Ada');
  assert.equal(await client.getToken(), 'token-2', 'a caller asking after the event gets Bob\'s token');

  server.reply(server.token(900, clock.now() + 840 * SECOND, BOB));
  await clock.advance(840 * SECOND);
  assert.equal(states.at(-1)!.status, 'signed-in');
  assert.equal(states.at(-1)!.previousUser, null);
});

test('a caller that asked while Ada was signed in never receives Bob\'s token: it gets user_changed after the event', async () => {
  const { clock, server, client, states } = setup();
  server.reply(server.token(900));
  await client.getToken();
  clock.jump(850 * SECOND);

  server.reply(server.token(900, clock.now(), BOB));
  const heard: string[] = [];
  client.onChange((state) => heard.push(state.status));
  const error = await rejection(client.getToken());

  assert.equal(error.code, 'user_changed');
  assert.equal(error.previousSub, 'user-1');
  assert.equal(error.sub, 'user-2');
  assert.equal(error.retryable, false);
  assert.deepEqual(heard, ['user-changed'], 'the event came before the rejection');
  assert.equal(states.at(-1)!.status, 'user-changed');
  assert.equal(await client.getToken(), 'token-2');
});

test('sign-out in between still counts: Ada, signed out, then Bob is a user change', async () => {
  const { clock, server, client, states } = setup();
  server.reply(server.token(60));
  await client.getToken();
  server.reply({ status: 401, body: { authenticated: false } });
  await clock.advance(60 * SECOND);
  assert.equal(states.at(-1)!.status, 'signed-out');

  server.reply(server.token(900, clock.now(), BOB));
  const error = await rejection(client.getToken());
  assert.equal(error.code, 'user_changed');
  assert.equal(states.at(-1)!.status, 'user-changed');
  assert.equal(states.at(-1)!.previousUser?.sub, 'user-1');
});

test('a user change seen by one request shape drops the tokens the other shapes held for the previous user', async () => {
  const { clock, server, client, states } = setup();
  server.reply(server.token(900));
  await client.getToken();
  server.reply(server.token(900));
  assert.equal(await client.getToken({ realms: ['london'] }), 'token-2');
  clock.jump(850 * SECOND);

  server.reply(server.token(900, clock.now(), BOB));
  await rejection(client.getToken());

  assert.equal(client.current({ realms: ['london'] }), null, 'Ada\'s narrowed token is gone');
  const london = states.filter((state) => state.request === 'realm=london').at(-1)!;
  assert.equal(london.status, 'idle');
  server.reply(server.token(900, clock.now(), BOB));
  assert.equal(await client.getToken({ realms: ['london'] }), 'token-4', 'asked after the event: Bob\'s narrowed token');
});
