import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { createPolicyHolder, type PolicyHolder } from '../../server/policy/create-policy-holder.ts';
import { policyPermissions } from '../../server/tokens/policy-permissions.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { completeProviderLogin, startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { reservePort, startTestApp, TEST_HIVEKIT_SECRET, type TestApp } from '../support/test-app.ts';
import { enumerateIds, findWidening, randomPer, seededRandom } from '../support/permission-universe.ts';

const EXAMPLE_POLICY = fileURLToPath(new URL('../../policy.example.json', import.meta.url));
type Per = Record<string, Record<string, string>>;

describe('GET /hivekit-access-token with a request for less', () => {
  let provider: TestProvider;
  let app: TestApp;
  let holder: PolicyHolder;
  const jar = new CookieJar();

  before(async () => {
    const listener = await reservePort();
    provider = await startTestProvider({ redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/` });
    const logger = createMemoryLogger();
    holder = await createPolicyHolder({ path: EXAMPLE_POLICY, logger, watch: false });
    app = await startTestApp({
      issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener,
      deps: { permissionsFor: policyPermissions(holder, logger) },
    });
    const start = await hop(`${app.url}/login`, { jar });
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users.find((u) => u.username === 'alice')!);
    await hop(callbackUrl, { jar });
  });
  after(async () => {
    holder.close();
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  async function tokenFor(query: string) {
    const response = await hop(`${app.url}/hivekit-access-token${query}`, { jar });
    const body = response.json as { token?: string; dropped?: unknown; error?: string; message?: string };
    const claims = body.token ? jwt.verify(body.token, TEST_HIVEKIT_SECRET) as { per: Per; dpv: Record<string, string[]> } : null;
    return { status: response.status, body, claims, cacheControl: response.headers.get('cache-control') };
  }

  it('without parameters the token is the full grant and the answer has no dropped list', async () => {
    const { status, body, claims } = await tokenFor('');
    assert.equal(status, 200);
    assert.equal(Object.hasOwn(body, 'dropped'), false);
    assert.deepEqual(claims!.per['*'], { 'status/*': 'R' });
  });

  it('?realm=london gives a London-only token (the * realm grant narrowed to london)', async () => {
    const { status, body, claims } = await tokenFor('?realm=london');
    assert.equal(status, 200);
    assert.deepEqual(claims!.per, {
      london: { 'deliveries/*': 'CRUD', 'deliveries/alice/*': 'RU', 'riders/*': 'RU', 'riders/alice': 'CRUD', 'status/*': 'R' },
    });
    assert.deepEqual(claims!.dpv, { london: ['riders/alice'] });
    assert.deepEqual(body.dropped, []);
  });

  it('a read-only London map token: ?per= asks for R on riders/* and gets exactly that', async () => {
    const { claims, body } = await tokenFor(`?per=${encodeURIComponent('{"london":{"riders/*":"R"}}')}`);
    assert.deepEqual(claims!.per, { london: { 'riders/*': 'R', 'riders/alice': 'R' } });
    assert.deepEqual(claims!.dpv, { london: ['riders/alice'] });
    assert.deepEqual(body.dropped, []);
  });

  it('what is not granted is dropped and said so; strict=true refuses with 403 scope_not_granted instead', async () => {
    const per = encodeURIComponent('{"london":{"riders/bob":"CRUD"},"paris":{"x":"R"}}');
    const lenient = await tokenFor(`?per=${per}`);
    assert.equal(lenient.status, 200);
    assert.deepEqual(lenient.claims!.per, { london: { 'riders/bob': 'RU' } });
    assert.deepEqual(lenient.body.dropped, [
      { realm: 'london', pattern: 'riders/bob', letters: 'CD', reason: 'not_granted' },
      { realm: 'paris', pattern: 'x', letters: 'R', reason: 'not_granted' },
    ]);
    const strict = await tokenFor(`?strict=true&per=${per}`);
    assert.equal(strict.status, 403);
    assert.equal(strict.body.error, 'scope_not_granted');
    assert.equal(strict.body.token, undefined);
    assert.equal(strict.cacheControl, 'no-store');
    assert.equal((strict.body.dropped as unknown[]).length, 2);
  });

  it('a malformed or hostile request is 400 bad_request with no token', async () => {
    for (const query of ['?realm=..', '?realm=%2A', '?realms=london', `?per=${encodeURIComponent('{"london":{"riders/../x":"R"}}')}`, '?per=%7B']) {
      const { status, body } = await tokenFor(query);
      assert.equal(status, 400, query);
      assert.equal(body.error, 'bad_request', query);
      assert.equal(body.token, undefined, query);
    }
  });

  it('property: a downscoped token is never wider than the full one (random requests, seeded)', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
    const random = seededRandom(seed);
    const full = (await tokenFor('')).claims!;
    const segments = ['deliveries', 'riders', 'status', 'alice', 'bob', '42'];
    const ids = enumerateIds(segments, 3);
    for (let i = 0; i < 40; i += 1) {
      const params = new URLSearchParams();
      for (const realm of ['london', 'paris']) if (random() < 0.4) params.append('realm', realm);
      if (random() < 0.7) params.set('per', JSON.stringify(randomPer(random, ['london', 'paris', '*'], segments, 4)));
      if ([...params.keys()].length === 0) continue;
      const { status, claims } = await tokenFor(`?${params}`);
      assert.equal(status, 200, `seed ${seed}: ?${params}`);
      assert.equal(findWidening(claims!.per, full.per, ['london', 'paris', 'elsewhere'], ids), null, `seed ${seed}: ?${params}`);
      for (const [realm, kept] of Object.entries(claims!.dpv)) {
        for (const id of kept) assert.ok(full.dpv[realm]?.includes(id), `seed ${seed}: ?${params} dpv ${realm} ${id}`);
      }
    }
  });
});
