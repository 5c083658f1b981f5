import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import jwt from 'jsonwebtoken';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { createPolicyHolder, type PolicyHolder } from '../../server/policy/create-policy-holder.ts';
import { policyPermissions } from '../../server/tokens/policy-permissions.ts';
import type { AppDependencies } from '../../server/app.ts';
import {
  BFF_OPAQUE_RESOURCE, BFF_RESOURCE, JOB_CLIENT_ID, OTHER_RESOURCE, startExchangeTestProvider, type ExchangeTestProvider,
} from '../support/exchange-test-provider.ts';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_USERS } from '../support/oidc-test-provider.ts';
import { reservePort, startTestApp, TEST_HIVEKIT_SECRET, type TestApp } from '../support/test-app.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const POLICY = {
  everyone: { description: 'Everybody sees the riders.', grants: { london: { 'riders/*': 'R' } } },
  rules: [
    {
      description: 'A rider publishes their own position.',
      when: { claim: 'groups', includes: 'riders' },
      grants: { london: { 'riders/{sub}': 'CRUD', 'deliveries/{sub}/*': 'RU' } },
      dpv: { london: ['riders/{sub}'] },
    },
    {
      description: 'The reporting job reads every delivery, when its token has hivekit:read.',
      when: [{ claim: 'client_id', equals: JOB_CLIENT_ID }, { claim: 'scope', includes: 'hivekit:read' }],
      grants: { '*': { 'deliveries/*': 'R' }, london: { 'reports/{claims.client_id}': 'CRU' } },
    },
  ],
};
type Claims = { sub: string; per: Record<string, Record<string, string>>; dpv: Record<string, string[]>; exp: number; iat: number };
const bob = TEST_USERS.find((u) => u.username === 'bob')!;

describe('POST /token: RFC 8693 token exchange against a real oidc-provider', () => {
  let provider: ExchangeTestProvider;
  let holder: PolicyHolder;
  let dir: string;
  const clock = { offsetMs: 0 };
  const apps: TestApp[] = [];
  let app: TestApp;
  let bobTokens: { accessToken: string; idToken: string };

  async function startApp(env: Record<string, string>, deps: Partial<AppDependencies> = {}): Promise<TestApp> {
    const listener = await reservePort();
    const started = await startTestApp({
      issuer: provider.issuer, clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, listener, env,
      deps: { permissionsFor: policyPermissions(holder, createMemoryLogger()), now: () => Date.now() + clock.offsetMs, ...deps },
    });
    apps.push(started);
    return started;
  }

  before(async () => {
    provider = await startExchangeTestProvider({ redirectUri: 'http://127.0.0.1:9/oauth2/redirect', postLogoutRedirectUri: 'http://127.0.0.1:9/' });
    dir = await mkdtemp(join(tmpdir(), 'bff-exchange-'));
    await writeFile(join(dir, 'policy.json'), JSON.stringify(POLICY));
    holder = await createPolicyHolder({ path: join(dir, 'policy.json'), logger: createMemoryLogger(), watch: false });
    app = await startApp({ TOKEN_EXCHANGE_AUDIENCE: BFF_RESOURCE });
    bobTokens = await provider.userTokens(bob);
  });
  after(async () => {
    for (const started of apps) {
      await started.stop();
      await started.cleanup();
    }
    holder.close();
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function exchange(target: TestApp, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
    const response = await fetch(`${target.url}/token`, {
      method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
    const json = await response.json() as Record<string, unknown>;
    const claims = typeof json.access_token === 'string' ? jwt.verify(json.access_token, TEST_HIVEKIT_SECRET) as Claims : undefined;
    return { status: response.status, json, claims, headers: response.headers };
  }
  const subject = (token: string, extra: Record<string, string | string[]> = {}) => ({
    grant_type: GRANT, subject_token: token, subject_token_type: ACCESS_TOKEN, ...extra,
  });

  /** The log line our app wrote for the last refused exchange: the reason the client never sees. */
  function lastRefusal(target: TestApp): string {
    const entry = target.logger.entries.filter((e) => e.event === 'token_exchange_refused').at(-1);
    return String(entry?.fields.detail);
  }

  async function forge(claims: Record<string, unknown>, header: Record<string, unknown> = {}, key?: JWK): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: provider.issuer, aud: BFF_RESOURCE, sub: 'bob', iat: now, exp: now + 300,
      client_id: 'hivekit-mobile', scope: 'hivekit:read', groups: ['riders'], jti: 'forged', ...claims,
    };
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: provider.signingKey.kid, ...header })
      .sign(await importJWK(key ?? provider.signingKey, 'RS256'));
  }

  /** Moves the app's clock to `seconds` after the token's own exp. */
  function afterExpiry(token: string, seconds: number): void {
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    clock.offsetMs = (exp + seconds) * 1000 - Date.now();
  }

  it("a mobile app's access token (code flow + PKCE, JWT for our resource) becomes a Hivekit token that follows the policy", async () => {
    const { status, json, claims, headers } = await exchange(app, subject(bobTokens.accessToken));
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.issued_token_type, 'urn:ietf:params:oauth:token-type:jwt');
    assert.equal(json.token_type, 'N_A');
    assert.equal(json.expires_in, 900);
    assert.equal(headers.get('cache-control'), 'no-store');
    assert.equal(headers.get('set-cookie'), null);
    assert.equal(claims!.sub, 'bob');
    assert.deepEqual(claims!.per, { london: { 'deliveries/bob/*': 'RU', 'riders/*': 'R', 'riders/bob': 'CRUD' } });
    assert.deepEqual(claims!.dpv, { london: ['riders/bob'] });
    assert.equal(Object.hasOwn(json, 'dropped'), false);
  });

  it("a machine client's client-credentials token (no end user): sub is the client, its rule matches on client_id and scope", async () => {
    const token = await provider.clientCredentialsToken(BFF_RESOURCE, 'hivekit:read');
    const { status, json, claims } = await exchange(app, subject(token));
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(claims!.sub, JOB_CLIENT_ID);
    assert.deepEqual(claims!.per, { '*': { 'deliveries/*': 'R' }, london: { 'reports/reporting-job': 'CRU', 'riders/*': 'R' } });
    const line = app.logger.entries.filter((e) => e.event === 'request' && e.fields.path === '/token').at(-1);
    assert.deepEqual((line?.fields.exchange as { kind: string; client: string }).kind, 'client');
  });

  it('the same machine client without the hivekit:read scope gets only what everyone gets', async () => {
    const token = await provider.clientCredentialsToken(BFF_RESOURCE, 'hivekit:write');
    const { status, claims } = await exchange(app, subject(token));
    assert.equal(status, 200);
    assert.deepEqual(claims!.per, { london: { 'riders/*': 'R' } });
  });

  it('a downscoped exchange (realm=, per=) mints the intersection and lists what was dropped; strict=true refuses with invalid_scope', async () => {
    const per = JSON.stringify({ london: { 'riders/bob': 'RU', 'riders/alice': 'U' } });
    const narrowed = await exchange(app, subject(bobTokens.accessToken, { realm: 'london', per }));
    assert.equal(narrowed.status, 200, JSON.stringify(narrowed.json));
    assert.deepEqual(narrowed.claims!.per, { london: { 'riders/bob': 'RU' } });
    assert.deepEqual(narrowed.json.dropped, [{ realm: 'london', pattern: 'riders/alice', letters: 'U', reason: 'not_granted' }]);
    const strict = await exchange(app, subject(bobTokens.accessToken, { per, strict: 'true' }));
    assert.equal(strict.status, 400);
    assert.equal(strict.json.error, 'invalid_scope');
    assert.equal(strict.json.access_token, undefined);
    assert.deepEqual(strict.json.dropped, [{ realm: 'london', pattern: 'riders/alice', letters: 'U', reason: 'not_granted' }]);
    const malformed = await exchange(app, subject(bobTokens.accessToken, { per: '{"london":{"../x":"R"}}' }));
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error, 'invalid_request');
  });

  describe('subject tokens that are refused with invalid_grant and one description that tells an attacker nothing', () => {
    const refusedWith = async (token: string, reason: RegExp, target = app) => {
      const { status, json, headers } = await exchange(target, subject(token));
      assert.equal(status, 400, JSON.stringify(json));
      assert.deepEqual(json, { error: 'invalid_grant', error_description: 'The subject token is invalid, expired or not meant for this service.' });
      assert.equal(headers.get('cache-control'), 'no-store');
      assert.match(lastRefusal(target), reason);
    };

    it("wrong audience: the provider's JWT access token for another API", async () => {
      await refusedWith((await provider.userTokens(bob, OTHER_RESOURCE)).accessToken, /aud/);
    });

    it('wrong issuer: signed by the real key, but another iss', async () => {
      await refusedWith(await forge({ iss: 'http://127.0.0.1:1' }), /iss/);
    });

    it('expired: the real token after its exp (plus the 30 s leeway) on our clock', async () => {
      const token = await provider.clientCredentialsToken();
      afterExpiry(token, 31);
      try {
        await refusedWith(token, /exp/);
      } finally {
        clock.offsetMs = 0;
      }
    });

    it('a replayed token: exchanged once, then presented again after it expired', async () => {
      const token = (await provider.userTokens(bob)).accessToken;
      assert.equal((await exchange(app, subject(token))).status, 200);
      afterExpiry(token, 31);
      try {
        await refusedWith(token, /exp/);
      } finally {
        clock.offsetMs = 0;
      }
      // Within the leeway it is still good: 30 s of clock skew is tolerated.
      afterExpiry(token, 20);
      try {
        assert.equal((await exchange(app, subject(token))).status, 200);
      } finally {
        clock.offsetMs = 0;
      }
    });

    it('alg none (an unsigned token with valid claims)', async () => {
      const [, payload] = (await forge({})).split('.');
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
      await refusedWith(`${header}.${payload}.`, /ALG_NOT_ALLOWED|JWS/);
    });

    it("signed by another key that claims the provider key's kid", async () => {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const { exportJWK } = await import('jose');
      await refusedWith(await forge({}, {}, await exportJWK(privateKey)), /SIGNATURE/);
    });

    it('an ID token passed as an access token (typ JWT, not at+jwt)', async () => {
      await refusedWith(bobTokens.idToken, /typ/);
    });

    it('an opaque token while introspection is off', async () => {
      await refusedWith(await provider.clientCredentialsToken(BFF_OPAQUE_RESOURCE), /introspection is off|not a JWT/i);
    });

    it('a token bound to a key (cnf): its proof of possession cannot be checked here', async () => {
      await refusedWith(await forge({ cnf: { jkt: 'abc' } }), /cnf/);
    });
  });

  it('opaque access tokens are introspected (RFC 7662) when TOKEN_EXCHANGE_INTROSPECTION=true, with our client credentials', async () => {
    const opaqueApp = await startApp({ TOKEN_EXCHANGE_AUDIENCE: BFF_OPAQUE_RESOURCE, TOKEN_EXCHANGE_INTROSPECTION: 'true' });
    const token = await provider.clientCredentialsToken(BFF_OPAQUE_RESOURCE);
    assert.doesNotMatch(token, /\./);
    const { status, json, claims } = await exchange(opaqueApp, subject(token));
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(claims!.sub, JOB_CLIENT_ID);
    assert.deepEqual(claims!.per['*'], { 'deliveries/*': 'R' });
    // A token for our JWT resource is still verified locally, and its audience is not this app's.
    const wrong = await exchange(opaqueApp, subject(await provider.clientCredentialsToken(BFF_RESOURCE)));
    assert.equal(wrong.json.error, 'invalid_grant');
    const garbage = await exchange(opaqueApp, subject('not-a-token-at-all'));
    assert.equal(garbage.json.error, 'invalid_grant');
    assert.match(lastRefusal(opaqueApp), /not active/);
  });

  it('malformed requests get RFC 6749 §5.2 errors', async () => {
    const cases: Array<[Record<string, string | string[]>, string]> = [
      [{ grant_type: 'client_credentials' }, 'unsupported_grant_type'],
      [{ subject_token: 'x', subject_token_type: ACCESS_TOKEN }, 'invalid_request'],
      [{ grant_type: GRANT, subject_token_type: ACCESS_TOKEN }, 'invalid_request'],
      [{ grant_type: GRANT, subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request'],
      [subject(bobTokens.accessToken, { subject_token: [bobTokens.accessToken, 'again'] }), 'invalid_request'],
      [subject(bobTokens.accessToken, { actor_token: 'x', actor_token_type: ACCESS_TOKEN }), 'invalid_request'],
      [subject(bobTokens.accessToken, { audience: 'somewhere-else' }), 'invalid_target'],
      [subject(bobTokens.accessToken, { scope: 'admin' }), 'invalid_scope'],
    ];
    for (const [fields, error] of cases) {
      const { status, json } = await exchange(app, fields);
      assert.equal(status, 400, JSON.stringify(fields));
      assert.equal(json.error, error, JSON.stringify(fields));
    }
    const asJson = await fetch(`${app.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(subject(bobTokens.accessToken)) });
    assert.equal(asJson.status, 400);
    assert.equal(((await asJson.json()) as { error: string }).error, 'invalid_request');
    // RFC 6749 §3.2: unknown parameters (a public client's client_id) are ignored.
    assert.equal((await exchange(app, subject(bobTokens.accessToken, { client_id: 'hivekit-mobile' }))).status, 200);
  });

  it('a body over 16 KB is refused with 413 payload_too_large before anything is verified', async () => {
    const { status, json } = await exchange(app, subject(bobTokens.accessToken, { padding: 'x'.repeat(17 * 1024) }));
    assert.equal(status, 413);
    assert.equal(json.error, 'payload_too_large');
  });

  it('cookies play no part: a cookie is ignored, none is set, and a cross-site Origin changes nothing', async () => {
    const { status, headers } = await exchange(app, subject(bobTokens.accessToken), {
      cookie: 'hivekit.sid=s%3Aforged', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site',
    });
    assert.equal(status, 200);
    assert.equal(headers.get('set-cookie'), null);
    assert.equal(headers.get('access-control-allow-origin'), null);
  });

  it('is rate-limited per subject, whichever access token the subject brings; refused tokens are limited per address', async () => {
    const limited = await startApp({ TOKEN_EXCHANGE_AUDIENCE: BFF_RESOURCE, RATE_LIMIT_EXCHANGE_PER_MINUTE: '2' });
    const other = (await provider.userTokens(bob)).accessToken;
    assert.equal((await exchange(limited, subject(bobTokens.accessToken))).status, 200);
    assert.equal((await exchange(limited, subject(other))).status, 200);
    const third = await exchange(limited, subject(bobTokens.accessToken));
    assert.equal(third.status, 429);
    assert.equal(third.json.error, 'rate_limited');
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    // Another subject is not affected.
    assert.equal((await exchange(limited, subject(await provider.clientCredentialsToken()))).status, 200);
    for (let i = 0; i < 2; i += 1) assert.equal((await exchange(limited, subject('bad.token.x'))).status, 400);
    assert.equal((await exchange(limited, subject('bad.token.x'))).status, 429);
  });

  it('is off (404) while TOKEN_EXCHANGE_AUDIENCE is unset', async () => {
    const off = await startApp({});
    const { status, json } = await exchange(off, subject(bobTokens.accessToken));
    assert.equal(status, 404);
    assert.equal(json.error, 'not_found');
  });
});
