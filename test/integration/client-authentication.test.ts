import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { ConfigError, loadConfig } from '../../server/config/load-config.ts';
import { startLyingProvider } from '../support/lying-provider.ts';
import { startClientAuthTestProvider } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { freePort, runProductToExit } from '../support/start-product.ts';
import { reservePort, startTestApp, TEST_HIVEKIT_SECRET, type TestApp } from '../support/test-app.ts';

// RFC 6749 §2.3.1: form-encoding before base64 turns these into %2B %2F %3D %3A %25 and + for the space.
const AWKWARD_SECRET = 'se+cret/with=padding:colon%25 and-space-0123456789';
type Method = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

let keyDir: string;
before(async () => { keyDir = await mkdtemp(join(tmpdir(), 'client-keys-')); });
after(async () => { await rm(keyDir, { recursive: true, force: true }); });

/** A fresh key pair for this run only (never committed): the file the BFF reads, the public JWK the provider registers. */
async function clientKey(kind: 'rsa-pem' | 'ec-jwk' | 'ps256-jwk' | 'rsa-1024-pem' | 'ec-p384-pem' | 'public-pem' | 'public-jwk') {
  const rsa = kind === 'rsa-1024-pem' ? { modulusLength: 1024 } : { modulusLength: 2048 };
  const { privateKey } = kind.startsWith('ec')
    ? generateKeyPairSync('ec', { namedCurve: kind === 'ec-p384-pem' ? 'P-384' : 'P-256' })
    : generateKeyPairSync('rsa', rsa);
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const kid = kind.endsWith('jwk') ? `kid-${kind}` : await calculateJwkThumbprint(publicJwk);
  const alg = kind === 'ps256-jwk' ? 'PS256' : kind.startsWith('ec') ? (kind === 'ec-p384-pem' ? 'ES384' : 'ES256') : 'RS256';
  const file = join(keyDir, `${kind}-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, fileContents(kind, privateKey, kid, alg), { mode: 0o600 });
  return { file, publicKey: createPublicKey(privateKey), publicJwk: { ...publicJwk, kid, alg, use: 'sig' }, kid, alg };
}

function fileContents(kind: string, privateKey: KeyObject, kid: string, alg: string): string {
  if (kind === 'public-pem') return createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  if (kind === 'public-jwk') return JSON.stringify({ ...createPublicKey(privateKey).export({ format: 'jwk' }), kid });
  if (kind.endsWith('jwk')) return JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid, alg });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describe('client authentication at the token endpoint of a real provider', () => {
  async function logIn(options: {
    registered: { tokenEndpointAuthMethod: Method; clientSecret?: string; jwks?: { keys: JWK[] } };
    env: Record<string, string>;
    clientSecret?: string;
  }) {
    const listener = await reservePort();
    const provider = await startClientAuthTestProvider({
      redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/`, client: options.registered,
    });
    const app = await startTestApp({ issuer: provider.issuer, clientId: provider.clientId, clientSecret: options.clientSecret ?? '', listener, env: options.env });
    try {
      const jar = new CookieJar();
      const start = await hop(`${app.url}/login`, { jar });
      assert.equal(start.status, 302);
      const { callbackUrl } = await provider.login(start.location!);
      const callback = await hop(callbackUrl, { jar });
      const token = await hop(`${app.url}/hivekit-access-token`, { jar });
      return { landing: callback.location, tokenStatus: token.status, log: app.logger.entries };
    } finally {
      await app.stop();
      await app.cleanup();
      await provider.close();
    }
  }

  it('client_secret_basic by default: a secret with + / = : % and a space signs the user in (form-encoded before base64)', async () => {
    const result = await logIn({ registered: { tokenEndpointAuthMethod: 'client_secret_basic', clientSecret: AWKWARD_SECRET }, env: {}, clientSecret: AWKWARD_SECRET });
    assert.equal(result.landing?.endsWith('/'), true, String(result.landing));
    assert.equal(result.tokenStatus, 200);
  });

  // oidc-provider takes basic and post alike for either registration; where the secret goes is checked against the lying provider below.
  it('OIDC_TOKEN_ENDPOINT_AUTH_METHOD=client_secret_post: the same secret, sent in the body, signs the user in', async () => {
    const result = await logIn({
      registered: { tokenEndpointAuthMethod: 'client_secret_post', clientSecret: AWKWARD_SECRET },
      env: { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post' }, clientSecret: AWKWARD_SECRET,
    });
    assert.equal(result.landing?.endsWith('/'), true, String(result.landing));
    assert.equal(result.tokenStatus, 200);
  });

  it('a client registered for private_key_jwt that sends a secret instead is refused: login_failed, no session', async () => {
    const key = await clientKey('rsa-pem');
    const result = await logIn({ registered: { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [key.publicJwk] } }, env: {}, clientSecret: AWKWARD_SECRET });
    assert.match(result.landing ?? '', /\/\?login_error=login_failed$/);
    assert.equal(result.tokenStatus, 401);
  });

  for (const kind of ['rsa-pem', 'ec-jwk', 'ps256-jwk'] as const) {
    it(`private_key_jwt with a ${kind} key file and no client secret signs the user in`, async () => {
      const key = await clientKey(kind);
      const result = await logIn({
        registered: { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [key.publicJwk] } },
        env: { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: key.file },
      });
      assert.equal(result.landing?.endsWith('/'), true, `${String(result.landing)} ${JSON.stringify(result.log.filter((e) => e.event === 'login_refused'))}`);
      assert.equal(result.tokenStatus, 200);
    });
  }
});

describe('what goes to the token endpoint, and the check against discovery', () => {
  const CLIENT_ID = 'client-auth-client';
  const started: Array<{ close(): Promise<void> } | TestApp> = [];
  after(async () => {
    for (const thing of started.reverse()) {
      if ('cleanup' in thing) { await thing.stop(); await thing.cleanup(); } else await thing.close();
    }
  });

  async function setUp(methods: string[] | undefined, env: Record<string, string>, signingAlgs?: string[]) {
    const provider = await startLyingProvider({ clientId: CLIENT_ID, tokenEndpointAuthMethods: methods, tokenEndpointAuthSigningAlgs: signingAlgs });
    started.push(provider);
    const app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: env.OIDC_TOKEN_ENDPOINT_AUTH_METHOD === 'private_key_jwt' ? '' : AWKWARD_SECRET, env });
    started.push(app);
    const logIn = async () => {
      const jar = new CookieJar();
      const start = await hop(`${app.url}/login`, { jar, headers: { accept: 'application/json' } });
      if (start.status !== 302) return { start, callback: undefined };
      return { start, callback: await hop((await hop(start.location!)).location!, { jar }) };
    };
    return { provider, app, logIn };
  }

  it('private_key_jwt: a fresh assertion per request, iss = sub = client id, aud = token endpoint, a minute to live; no secret, no Basic', async () => {
    const key = await clientKey('rsa-pem');
    const { provider, app, logIn } = await setUp(['private_key_jwt'], { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: key.file });
    const jtis = new Set<unknown>();
    for (let i = 0; i < 2; i += 1) {
      assert.equal((await logIn()).callback?.location, `${app.url}/`);
      const body = provider.state.lastTokenBody;
      assert.equal(body.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      assert.equal(body.client_id, CLIENT_ID);
      assert.equal(body.client_secret, undefined);
      assert.equal(provider.state.lastTokenAuthorization, undefined);
      assert.deepEqual(decodeProtectedHeader(body.client_assertion!), { alg: 'RS256', kid: key.kid });
      const { payload } = await jwtVerify(body.client_assertion!, key.publicKey, {
        issuer: CLIENT_ID, subject: CLIENT_ID, audience: `${provider.issuer}/token`, maxTokenAge: 5,
      });
      assert.equal(payload.exp! - payload.iat!, 60);
      assert.match(String(payload.jti), /^[A-Za-z0-9_-]{22,}$/);
      jtis.add(payload.jti);
    }
    assert.equal(jtis.size, 2);
  });

  it('private_key_jwt: a JWK file\'s alg and certificate thumbprint (x5t#S256, how Entra ID names the key) reach the assertion header', async () => {
    const key = await clientKey('ps256-jwk');
    const withThumbprint = join(keyDir, 'with-x5t.json');
    await writeFile(withThumbprint, JSON.stringify({ ...JSON.parse(await readFile(key.file, 'utf8')), 'x5t#S256': 'certificate-thumbprint' }), { mode: 0o600 });
    const { provider, app, logIn } = await setUp(['private_key_jwt'], { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: withThumbprint });
    assert.equal((await logIn()).callback?.location, `${app.url}/`);
    const assertion = provider.state.lastTokenBody.client_assertion!;
    assert.deepEqual(decodeProtectedHeader(assertion), { alg: 'PS256', kid: key.kid, 'x5t#S256': 'certificate-thumbprint' });
    await jwtVerify(assertion, key.publicKey, { algorithms: ['PS256'] });
  });

  it('client_secret_post: id and secret in the body as they are, no Authorization header', async () => {
    const { provider, app, logIn } = await setUp(['client_secret_basic', 'client_secret_post'], { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post' });
    assert.equal((await logIn()).callback?.location, `${app.url}/`);
    assert.equal(provider.state.lastTokenBody.client_id, CLIENT_ID);
    assert.equal(provider.state.lastTokenBody.client_secret, AWKWARD_SECRET);
    assert.equal(provider.state.lastTokenAuthorization, undefined);
  });

  it('client_secret_basic: id and secret form-encoded, then base64 (RFC 6749 §2.3.1), nothing in the body', async () => {
    const { provider, app, logIn } = await setUp(undefined, {});
    assert.equal((await logIn()).callback?.location, `${app.url}/`);
    const sent = Buffer.from(provider.state.lastTokenAuthorization!.replace(/^Basic /, ''), 'base64').toString();
    assert.equal(sent, `${CLIENT_ID}:se%2Bcret%2Fwith%3Dpadding%3Acolon%2525+and-space-0123456789`);
    assert.equal(provider.state.lastTokenBody.client_secret, undefined);
  });

  it('unset, with a provider that offers only client_secret_post: the secret goes in the body', async () => {
    const { provider, app, logIn } = await setUp(['client_secret_post'], {});
    assert.equal((await logIn()).callback?.location, `${app.url}/`);
    assert.equal(provider.state.lastTokenBody.client_secret, AWKWARD_SECRET);
    assert.equal(provider.state.lastTokenAuthorization, undefined);
  });

  const mismatches: Array<[string, string[], Record<string, string> | 'p384', string[] | undefined, RegExp]> = [
    ['a method the provider does not offer', ['client_secret_basic'], { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post' }, undefined,
      /OIDC_TOKEN_ENDPOINT_AUTH_METHOD=client_secret_post is not offered: the provider's token_endpoint_auth_methods_supported is \["client_secret_basic"\]/],
    ['no method set and a provider offering only private_key_jwt', ['private_key_jwt'], {}, undefined,
      /OIDC_TOKEN_ENDPOINT_AUTH_METHOD is unset and the provider offers neither client_secret_basic nor client_secret_post/],
    ['a key whose algorithm the provider does not take', ['private_key_jwt'], 'p384', ['RS256', 'ES256'],
      /signs ES384, but the provider's token_endpoint_auth_signing_alg_values_supported is \["RS256","ES256"\]/],
  ];
  for (const [what, methods, env, algs, detail] of mismatches) {
    it(`${what}: login answers 500 naming the setting before sending anyone to the provider, and logs why`, async () => {
      const resolvedEnv = env === 'p384'
        ? { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: (await clientKey('ec-p384-pem')).file }
        : env;
      const { app, logIn } = await setUp(methods, resolvedEnv, algs);
      const { start } = await logIn();
      assert.equal(start.status, 500);
      const body = start.json as { error: string; message: string };
      assert.equal(body.error, 'internal_error');
      assert.match(body.message, /OIDC_TOKEN_ENDPOINT_AUTH_METHOD/);
      assert.equal(start.location, undefined);
      const failure = app.logger.entries.filter((entry) => entry.event === 'request_failed').at(-1);
      assert.match(String(failure?.fields.detail), detail);
    });
  }

  it('npm start refuses to listen when the provider answers but does not offer the configured method, naming the setting', async () => {
    const provider = await startLyingProvider({ clientId: CLIENT_ID, tokenEndpointAuthMethods: ['client_secret_basic'] });
    started.push(provider);
    const port = await freePort();
    const { code, output } = await runProductToExit({
      NODE_ENV: 'test', PORT: String(port), DATA_DIR: join(keyDir, 'start-check'), OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: AWKWARD_SECRET, OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post',
      SESSION_SECRET: 'start-check-session-secret-of-32-characters-or-more', HIVEKIT_TENANT_ID: 't',
      HIVEKIT_SECRET: TEST_HIVEKIT_SECRET.toString('base64'), HIVEKIT_SECRET_ID: 'k',
    });
    assert.notEqual(code, 0);
    assert.match(output, /Cannot start: OIDC_TOKEN_ENDPOINT_AUTH_METHOD=client_secret_post is not offered/);
    assert.doesNotMatch(output, /"event":"listening"|\n\s+at /);
  });
});

describe('the settings OIDC_TOKEN_ENDPOINT_AUTH_METHOD and OIDC_CLIENT_KEY_FILE', () => {
  const BASE = {
    NODE_ENV: 'test', PUBLIC_URL: 'https://bff.example', OIDC_ISSUER: 'https://idp.example/', OIDC_CLIENT_ID: 'client',
    SESSION_SECRET: 's'.repeat(40), HIVEKIT_TENANT_ID: 't', HIVEKIT_SECRET: TEST_HIVEKIT_SECRET.toString('base64'), HIVEKIT_SECRET_ID: 'k',
  };
  function problemsOf(env: Record<string, string>): string[] {
    try {
      loadConfig({ ...BASE, ...env });
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
  }
  const mine = (problems: string[]) => problems.filter((p) => /^OIDC_(TOKEN_ENDPOINT_AUTH_METHOD|CLIENT_KEY_FILE|CLIENT_SECRET)\b/.test(p));

  it('private_key_jwt with a readable key needs no OIDC_CLIENT_SECRET, and the config carries the key\'s kid and alg', async () => {
    const key = await clientKey('ec-jwk');
    const config = loadConfig({ ...BASE, OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: key.file });
    assert.equal(config.oidc.tokenEndpointAuthMethod, 'private_key_jwt');
    assert.equal(config.oidc.clientKey?.kid, key.kid);
    assert.equal(config.oidc.clientKey?.alg, 'ES256');
    assert.ok(Object.isFrozen(config.oidc.clientKey?.jwk));
  });

  it('a secret method still needs OIDC_CLIENT_SECRET', () => {
    const problems = mine(problemsOf({ OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_post' }));
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!, /^OIDC_CLIENT_SECRET: missing/);
  });

  const cases: Array<[string, Record<string, string> | (() => Promise<Record<string, string>>), RegExp]> = [
    ['an unknown method', { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'client_secret_jwt', OIDC_CLIENT_SECRET: 'Zq8v-secret-for-the-settings-test-3Jk1' },
      /^OIDC_TOKEN_ENDPOINT_AUTH_METHOD: got "client_secret_jwt"; expected "client_secret_basic", "client_secret_post" or "private_key_jwt"$/],
    ['private_key_jwt without a key file', { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt' }, /^OIDC_CLIENT_KEY_FILE: missing; OIDC_TOKEN_ENDPOINT_AUTH_METHOD=private_key_jwt needs /],
    ['a key file without private_key_jwt', async () => ({ OIDC_CLIENT_SECRET: 'Zq8v-secret-for-the-settings-test-3Jk1', OIDC_CLIENT_KEY_FILE: (await clientKey('rsa-pem')).file }),
      /^OIDC_CLIENT_KEY_FILE: set, but only used with OIDC_TOKEN_ENDPOINT_AUTH_METHOD=private_key_jwt$/],
    ['a key file that does not exist', { OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: '/nonexistent/key.pem' },
      /^OIDC_CLIENT_KEY_FILE: cannot read "\/nonexistent\/key.pem" \(ENOENT\)$/],
    ['a 1024-bit RSA key', async () => ({ OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: (await clientKey('rsa-1024-pem')).file }),
      /holds an RSA key of 1024 bits; at least 2048 are needed$/],
    ['a public key in PEM', async () => ({ OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: (await clientKey('public-pem')).file }),
      /is not a private key in PEM \(PKCS#8, PKCS#1, SEC1\) or JWK form$/],
    ['a public JWK', async () => ({ OIDC_TOKEN_ENDPOINT_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_KEY_FILE: (await clientKey('public-jwk')).file }),
      /is a JSON value but not a private JWK \(no "d"\)$/],
  ];
  for (const [what, env, expected] of cases) {
    it(`${what} is one named problem, without the file's contents`, async () => {
      const problems = mine(problemsOf(typeof env === 'function' ? await env() : env));
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.match(problems[0]!, expected);
      assert.doesNotMatch(problems[0]!, /BEGIN|"d"\s*:|MII/);
    });
  }
});
