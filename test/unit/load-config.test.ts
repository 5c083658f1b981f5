import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configWarnings } from '../../server/config/config-warnings.ts';
import { ConfigError, isDevMode, loadConfig } from '../../server/config/load-config.ts';

const SECRET_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256));
const SECRET_32 = SECRET_BYTES.toString('base64');
const SESSION_SECRET = 'Vq3r8ZtK1mXwP0sLd7FhJ2nYcB6gA9eU';
const OTHER_SESSION_SECRET = 'tY7uI8oP9aS0dF1gH2jK3lZ4xC5vB6nM';
const VALID = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://app.example.com',
  TRUST_PROXY: '1',
  OIDC_ISSUER: 'https://idp.example.com/',
  OIDC_CLIENT_ID: 'client',
  OIDC_CLIENT_SECRET: 'client-secret',
  SESSION_SECRET,
  HIVEKIT_TENANT_ID: 'tenant',
  HIVEKIT_SECRET: SECRET_32,
  HIVEKIT_SECRET_ID: 'kid-1',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('accepts a complete production environment and derives redirect URIs and cookie security from PUBLIC_URL', () => {
    const config = loadConfig(VALID);
    assert.equal(config.oidc.redirectUri, 'https://app.example.com/oauth2/redirect');
    assert.equal(config.session.cookieSecure, true);
    assert.equal(config.hivekit.tokenTtlSeconds, 900);
    assert.equal(config.hivekit.issuer, 'platform.hivekit.io');
    assert.equal(config.oidc.scope, 'openid profile email');
    assert.equal(config.devMode, false);
  });

  it('returns a frozen object', () => {
    const config = loadConfig(VALID);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.oidc));
    assert.throws(() => { (config as { port: number }).port = 1; });
  });

  it('in production with an empty environment names every missing variable in one error', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    for (const name of ['PUBLIC_URL', 'OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'SESSION_SECRET', 'HIVEKIT_TENANT_ID', 'HIVEKIT_SECRET', 'HIVEKIT_SECRET_ID']) {
      assert.ok(problems.some((p) => p.startsWith(`${name}:`)), `${name} not reported in ${problems.join(' | ')}`);
    }
  });

  it('in production ignores dev defaults', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    let withDefaults: readonly string[] = [];
    try { loadConfig({ NODE_ENV: 'production' }, { SESSION_SECRET: 'd'.repeat(40), HIVEKIT_SECRET: SECRET_32 }); } catch (e) { withDefaults = (e as ConfigError).problems; }
    assert.deepEqual(withDefaults, problems);
  });

  const refused: Array<[string, Record<string, string>, RegExp]> = [
    ['HIVEKIT_SECRET that is not base64', { HIVEKIT_SECRET: 'not base64!' }, /^HIVEKIT_SECRET: not strict base64/],
    ['HIVEKIT_SECRET in URL-safe base64', { HIVEKIT_SECRET: Buffer.alloc(33, 251).toString('base64url') }, /^HIVEKIT_SECRET: not strict base64/],
    ['HIVEKIT_SECRET of 31 bytes', { HIVEKIT_SECRET: Buffer.alloc(31, 1).toString('base64') }, /^HIVEKIT_SECRET: decodes to 31 bytes/],
    ['SESSION_SECRET of 31 characters', { SESSION_SECRET: 'a'.repeat(31) }, /^SESSION_SECRET: secret #1 has 31 characters/],
    ['a short second SESSION_SECRET in a rotation list', { SESSION_SECRET: `${'a'.repeat(32)},short` }, /^SESSION_SECRET: secret #2/],
    ['TOKEN_TTL_SECONDS of 59', { TOKEN_TTL_SECONDS: '59' }, /^TOKEN_TTL_SECONDS: got "59"/],
    ['TOKEN_TTL_SECONDS of 86401', { TOKEN_TTL_SECONDS: '86401' }, /^TOKEN_TTL_SECONDS: got "86401"/],
    ['TOKEN_TTL_SECONDS of 0', { TOKEN_TTL_SECONDS: '0' }, /^TOKEN_TTL_SECONDS/],
    ['TOKEN_TTL_SECONDS of 1.5', { TOKEN_TTL_SECONDS: '1.5' }, /^TOKEN_TTL_SECONDS/],
    ['an http PUBLIC_URL in production', { PUBLIC_URL: 'http://app.example.com' }, /^PUBLIC_URL: .*production needs https/],
    ['a PUBLIC_URL with a path', { PUBLIC_URL: 'https://app.example.com/bff' }, /^PUBLIC_URL: got/],
    ['an http OIDC_ISSUER that is not local', { OIDC_ISSUER: 'http://idp.example.com/' }, /^OIDC_ISSUER: got/],
    ['OIDC_SCOPE without openid', { OIDC_SCOPE: 'profile email' }, /^OIDC_SCOPE/],
    ['an absolute lifetime shorter than the idle one', { SESSION_IDLE_TIMEOUT_SECONDS: '3600', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '600' }, /^SESSION_ABSOLUTE_TIMEOUT_SECONDS/],
    ['OIDC_ISSUER and AUTH0_DOMAIN that disagree', { AUTH0_DOMAIN: 'other.eu.auth0.com' }, /^OIDC_ISSUER and AUTH0_DOMAIN: set to different values/],
    ['an all-zero 32-byte HIVEKIT_SECRET', { HIVEKIT_SECRET: Buffer.alloc(32).toString('base64') }, /^HIVEKIT_SECRET: .*only 1 distinct byte value/],
    ['a HIVEKIT_SECRET of two alternating bytes', { HIVEKIT_SECRET: Buffer.alloc(48, 'ab').toString('base64') }, /^HIVEKIT_SECRET: .*only 2 distinct byte values/],
    ['a SESSION_SECRET of one repeated character', { SESSION_SECRET: 'a'.repeat(32) }, /^SESSION_SECRET: secret #1 .*only 1 distinct character/],
    ['a SESSION_SECRET that repeats a word', { SESSION_SECRET: 'password'.repeat(4) }, /^SESSION_SECRET: secret #1 .*only 7 distinct characters/],
    ['a weak second SESSION_SECRET in a rotation list', { SESSION_SECRET: `${SESSION_SECRET},${'xy'.repeat(20)}` }, /^SESSION_SECRET: secret #2 .*only 2 distinct/],
    ['a SESSION_SECRET equal to OIDC_CLIENT_SECRET', { SESSION_SECRET, OIDC_CLIENT_SECRET: SESSION_SECRET }, /^SESSION_SECRET: secret #1 is also OIDC_CLIENT_SECRET/],
    ['an old SESSION_SECRET equal to OIDC_CLIENT_SECRET', { SESSION_SECRET: `${SESSION_SECRET},${OTHER_SESSION_SECRET}`, OIDC_CLIENT_SECRET: OTHER_SESSION_SECRET }, /^SESSION_SECRET: secret #2 is also OIDC_CLIENT_SECRET/],
    ['a SESSION_SECRET equal to HIVEKIT_SECRET', { SESSION_SECRET: SECRET_32 }, /^SESSION_SECRET: secret #1 is also HIVEKIT_SECRET/],
    ['a SESSION_SECRET holding the HIVEKIT_SECRET bytes in base64url', { SESSION_SECRET: SECRET_BYTES.toString('base64url') }, /^SESSION_SECRET: secret #1 is also HIVEKIT_SECRET/],
    ['an OIDC_CLIENT_SECRET equal to HIVEKIT_SECRET (the provider would learn the signing key)', { OIDC_CLIENT_SECRET: SECRET_32 }, /^OIDC_CLIENT_SECRET: is also HIVEKIT_SECRET/],
    ['an https PUBLIC_URL with TRUST_PROXY=false in production', { TRUST_PROXY: 'false' }, /^TRUST_PROXY: is false, but PUBLIC_URL is https/],
    ['an https PUBLIC_URL with TRUST_PROXY left at its default in production', { TRUST_PROXY: '' }, /^TRUST_PROXY: is false, but PUBLIC_URL is https/],
    ['HTTP_HEADERS_TIMEOUT_SECONDS of 0', { HTTP_HEADERS_TIMEOUT_SECONDS: '0' }, /^HTTP_HEADERS_TIMEOUT_SECONDS: got "0"/],
    ['HTTP_HEADERS_TIMEOUT_SECONDS of 301', { HTTP_HEADERS_TIMEOUT_SECONDS: '301' }, /^HTTP_HEADERS_TIMEOUT_SECONDS: got "301"/],
    ['HTTP_REQUEST_TIMEOUT_SECONDS shorter than the headers timeout', { HTTP_HEADERS_TIMEOUT_SECONDS: '20', HTTP_REQUEST_TIMEOUT_SECONDS: '10' }, /^HTTP_REQUEST_TIMEOUT_SECONDS: must not be shorter than HTTP_HEADERS_TIMEOUT_SECONDS/],
    ['HTTP_KEEP_ALIVE_TIMEOUT_SECONDS of 0', { HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '0' }, /^HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: got "0"/],
    ['HTTP_MAX_CONNECTIONS of 0', { HTTP_MAX_CONNECTIONS: '0' }, /^HTTP_MAX_CONNECTIONS: got "0"/],
  ];
  for (const [what, change, message] of refused) {
    it(`refuses ${what}`, () => {
      const problems = problemsOf({ ...VALID, ...change });
      assert.ok(problems.some((p) => message.test(p)), problems.join(' | '));
    });
  }

  it('reads NODE_ENV with a stray space or CR as production, never as dev mode', () => {
    for (const nodeEnv of ['production ', 'production\r', ' production']) {
      const config = loadConfig({ ...VALID, NODE_ENV: nodeEnv });
      assert.equal(config.isProduction, true, JSON.stringify(nodeEnv));
      assert.ok(problemsOf({ ...VALID, NODE_ENV: nodeEnv, PUBLIC_URL: 'http://app.example.com' }).some((p) => p.startsWith('PUBLIC_URL')));
    }
  });

  it('treats an unknown NODE_ENV as an error and not as dev mode', () => {
    assert.equal(isDevMode({ NODE_ENV: 'Production' }), false);
    assert.ok(problemsOf({ ...VALID, NODE_ENV: 'Production' }).some((p) => p.startsWith('NODE_ENV')));
  });

  it('refuses a real HIVEKIT_SECRET in dev mode when listening beyond loopback', () => {
    const dev = { HOST: '0.0.0.0', HIVEKIT_SECRET: SECRET_32 };
    const defaults = { OIDC_ISSUER: 'http://localhost:3001', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's', SESSION_SECRET: 'x'.repeat(32), HIVEKIT_TENANT_ID: 't', HIVEKIT_SECRET_ID: 'k' };
    assert.throws(() => loadConfig(dev, defaults), (error: ConfigError) => error.problems.some((p) => p.startsWith('HIVEKIT_SECRET: set while in dev mode')));
    assert.equal(loadConfig({ ...dev, HOST: '127.0.0.1' }, defaults).devMode, true);
  });

  it('validates TRUST_PROXY entries the way Express will read them', () => {
    for (const value of ['abc', 'loopback,evil', '10.0.0.0/33', '1.2.3.4/8/9', '999']) {
      assert.ok(problemsOf({ ...VALID, TRUST_PROXY: value }).some((p) => p.startsWith('TRUST_PROXY')), value);
    }
    assert.equal(loadConfig({ ...VALID, TRUST_PROXY: '10.0.0.0/8, loopback, ::1' }).trustProxy, '10.0.0.0/8,loopback,::1');
    assert.equal(loadConfig({ ...VALID, TRUST_PROXY: '1' }).trustProxy, 1);
  });

  it('refuses control characters in ids that end up in token headers and claims', () => {
    assert.ok(problemsOf({ ...VALID, HIVEKIT_SECRET_ID: 'kid\n1' }).some((p) => p.startsWith('HIVEKIT_SECRET_ID')));
  });

  it('never echoes a secret value in its messages', () => {
    assert.throws(
      () => loadConfig({ ...VALID, HIVEKIT_SECRET: 'c2hvcnQ=', SESSION_SECRET: 'tiny-secret-value' }),
      (error: Error) => !/c2hvcnQ=|tiny-secret-value/.test(error.message) && /HIVEKIT_SECRET/.test(error.message),
    );
  });

  it('accepts a rotation list of session secrets, the first one signing', () => {
    const config = loadConfig({ ...VALID, SESSION_SECRET: `${SESSION_SECRET}, ${OTHER_SESSION_SECRET}` });
    assert.deepEqual(config.session.secrets, [SESSION_SECRET, OTHER_SESSION_SECRET]);
  });

  it('accepts a random hex SESSION_SECRET of 32 characters (16 symbols, yet not weak)', () => {
    assert.equal(loadConfig({ ...VALID, SESSION_SECRET: '3f9a0c7e5b2d8164af0e9c3b7d51a286' }).session.secrets.length, 1);
  });

  it('lists weak and reused secrets in one error with every other problem, and never their values', () => {
    const zeros = Buffer.alloc(32).toString('base64');
    const shared = 'shared-secret-used-twice-0123456789';
    assert.throws(
      () => loadConfig({ ...VALID, HIVEKIT_SECRET: zeros, SESSION_SECRET: shared, OIDC_CLIENT_SECRET: shared, TOKEN_TTL_SECONDS: '5' }),
      (error: ConfigError) => {
        assert.deepEqual(error.problems.map((p) => p.split(':')[0]).sort(), ['HIVEKIT_SECRET', 'SESSION_SECRET', 'TOKEN_TTL_SECONDS']);
        assert.doesNotMatch(error.message, new RegExp(`${zeros.slice(0, 12)}|${shared}`));
        return true;
      },
    );
  });

  it('checks secrets for weakness and reuse in production only: test and dev configurations keep their fixtures', () => {
    const config = loadConfig({ ...VALID, NODE_ENV: 'test', SESSION_SECRET: 'a'.repeat(32), HIVEKIT_SECRET: Buffer.alloc(32).toString('base64') });
    assert.equal(config.isProduction, false);
  });

  it('bounds the HTTP listener with documented defaults: headers 10 s, request 30 s, keep-alive 5 s, 10000 connections', () => {
    assert.deepEqual({ ...loadConfig(VALID).http }, { headersTimeoutSeconds: 10, requestTimeoutSeconds: 30, keepAliveTimeoutSeconds: 5, maxConnections: 10_000 });
    const tight = loadConfig({ ...VALID, HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_REQUEST_TIMEOUT_SECONDS: '1', HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '1', HTTP_MAX_CONNECTIONS: '1' });
    assert.deepEqual({ ...tight.http }, { headersTimeoutSeconds: 1, requestTimeoutSeconds: 1, keepAliveTimeoutSeconds: 1, maxConnections: 1 });
  });
});

describe('configWarnings', () => {
  it('has nothing to say about a complete production configuration behind one proxy', () => {
    assert.deepEqual(configWarnings(loadConfig(VALID)), []);
  });

  it('warns that TRUST_PROXY=true lets any client forge X-Forwarded-For, and recommends a hop count or addresses', () => {
    const warnings = configWarnings(loadConfig({ ...VALID, TRUST_PROXY: 'true' }));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.setting, 'TRUST_PROXY');
    assert.match(warnings[0]!.message, /X-Forwarded-For/);
    assert.match(warnings[0]!.message, /rate limit/);
    assert.match(warnings[0]!.message, /hop count/);
  });

  it('outside production warns (rather than refuses) that an https PUBLIC_URL with TRUST_PROXY=false never sets the session cookie', () => {
    const warnings = configWarnings(loadConfig({ ...VALID, NODE_ENV: 'test', TRUST_PROXY: 'false' }));
    assert.deepEqual(warnings.map((w) => w.setting), ['TRUST_PROXY']);
    assert.match(warnings[0]!.message, /PUBLIC_URL is https/);
  });

  it('accepts the AUTH0_* aliases, building the issuer from the domain', () => {
    const { OIDC_ISSUER: _i, OIDC_CLIENT_ID: _c, OIDC_CLIENT_SECRET: _s, ...rest } = VALID;
    const config = loadConfig({ ...rest, AUTH0_DOMAIN: 'tenant.eu.auth0.com', AUTH0_CLIENT_ID: 'a0-client', AUTH0_CLIENT_SECRET: 'a0-secret' });
    assert.equal(config.oidc.issuer, 'https://tenant.eu.auth0.com/');
    assert.equal(config.oidc.clientId, 'a0-client');
    assert.equal(config.oidc.clientSecret, 'a0-secret');
  });

  it('is in dev mode only without a provider and outside production', () => {
    assert.equal(isDevMode({}), true);
    assert.equal(isDevMode({ OIDC_ISSUER: 'https://idp.example.com/' }), false);
    assert.equal(isDevMode({ AUTH0_DOMAIN: 'x.auth0.com' }), false);
    assert.equal(isDevMode({ NODE_ENV: 'production' }), false);
  });

  it('defaults PUBLIC_URL to localhost on PORT outside production', () => {
    const { PUBLIC_URL: _p, ...rest } = VALID;
    const config = loadConfig({ ...rest, NODE_ENV: 'development', PORT: '4321' });
    assert.equal(config.publicUrl, 'http://localhost:4321');
    assert.equal(config.session.cookieSecure, false);
  });
});
