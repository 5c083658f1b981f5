import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenClient, TokenClientError, type ResponseLike, type TokenState } from '../../public/hivekit-token-client.js';

const NOW_MS = Date.UTC(2030, 0, 1, 12, 0, 0);

// Timers never fire here: these tests are about which request each shape sends and keeps.
function setup(answer: (url: string) => { status: number; body: unknown }, maxRequestShapes?: number) {
  const urls: string[] = [];
  let minted = 0;
  const fetch = (url: string): Promise<ResponseLike> => {
    urls.push(url);
    const { status, body } = answer(url);
    minted += 1;
    const withToken = status === 200 ? { ...(body as object), token: `token-${minted}` } : body;
    return Promise.resolve({ status, headers: { get: () => null }, json: () => Promise.resolve(withToken) });
  };
  const states: TokenState[] = [];
  const client = createTokenClient({
    fetch, now: () => NOW_MS, setTimeout: () => 0, clearTimeout: () => undefined, random: () => 0,
    ...(maxRequestShapes === undefined ? {} : { maxRequestShapes }),
  });
  client.onChange((state) => states.push(state));
  return { client, urls, states };
}

const ok = (dropped?: unknown[]) => ({
  status: 200,
  body: { authenticated: true, user: { sub: 'u' }, expiresAt: NOW_MS / 1000 + 900, ...(dropped ? { dropped } : {}) },
});

test('getToken({ realms }) asks with ?realm= and caches per request shape, apart from the full token', async () => {
  const { client, urls } = setup(() => ok([]));
  const full = await client.getToken();
  const london = await client.getToken({ realms: ['london'] });
  assert.notEqual(full, london);
  assert.equal(await client.getToken({ realms: ['london'] }), london);
  assert.equal(await client.getToken(), full);
  assert.deepEqual(urls, ['/hivekit-access-token', '/hivekit-access-token?realm=london']);
});

test('equal requests written differently share one token: realms sorted and unique, per keys sorted, letters in C R U D order', async () => {
  const { client, urls } = setup(() => ok([]));
  const a = await client.getToken({ realms: ['paris', 'london', 'paris'], per: { london: { 'riders/*': 'UR', 'a': 'R' } } });
  const b = await client.getToken({ per: { london: { a: 'R', 'riders/*': 'RU' } }, realms: ['london', 'paris'] });
  assert.equal(a, b);
  assert.equal(urls.length, 1);
  const query = new URL(urls[0]!, 'http://x').searchParams;
  assert.deepEqual(query.getAll('realm'), ['london', 'paris']);
  assert.equal(query.get('per'), '{"london":{"a":"R","riders/*":"RU"}}');
  assert.equal(query.get('strict'), null);
});

test('the session of a narrowed token carries what was dropped; strict refusal is an error with the dropped list, not retried', async () => {
  const dropped = [{ realm: 'london', pattern: 'riders/bob', letters: 'CD', reason: 'not_granted' }];
  const { client, states } = setup((url) => (url.includes('strict=true')
    ? { status: 403, body: { error: 'scope_not_granted', message: 'Strict mode', dropped } }
    : ok(dropped)));
  await client.getToken({ per: { london: { 'riders/bob': 'CRUD' } } });
  assert.deepEqual(client.current({ per: { london: { 'riders/bob': 'CRUD' } } })?.dropped, dropped);
  assert.equal(client.current(), null, 'the full token was never asked for');
  const error = await client.getToken({ per: { london: { 'riders/bob': 'CRUD' } }, strict: true }).catch((e: unknown) => e);
  assert.ok(error instanceof TokenClientError);
  assert.equal(error.code, 'scope_not_granted');
  assert.equal(error.retryable, false);
  assert.deepEqual(error.dropped, dropped);
  assert.ok(states.some((state) => state.request.includes('strict=true') && state.status === 'error'));
});

test('past maxRequestShapes the least recently used shape is dropped and asked for again when needed', async () => {
  const { client, urls } = setup(() => ok([]), 2);
  await client.getToken({ realms: ['a'] });
  await client.getToken({ realms: ['b'] });
  await client.getToken({ realms: ['a'] });
  await client.getToken({ realms: ['c'] });
  await client.getToken({ realms: ['a'] });
  await client.getToken({ realms: ['b'] });
  assert.deepEqual(urls.map((url) => url.split('?')[1]), ['realm=a', 'realm=b', 'realm=c', 'realm=b']);
});

test('a malformed request is a TypeError at the call, never a request', async () => {
  const { client, urls } = setup(() => ok());
  await assert.rejects(client.getToken({ realms: 'london' as unknown as string[] }), TypeError);
  await assert.rejects(client.getToken({ per: { london: { x: 4 as unknown as string } } }), TypeError);
  assert.equal(urls.length, 0);
});
