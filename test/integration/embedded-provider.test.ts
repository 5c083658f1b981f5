import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startEmbeddedProvider } from '../../server/dev/embedded-provider.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import {
  ProviderCookieJar, ProviderLoginError, TEST_USERS, completeProviderLogin, completeProviderLogout, startTestProvider,
} from '../support/oidc-test-provider.ts';
import type { TestProvider } from '../support/oidc-test-provider.ts';
import { logFromNowOn } from '../support/log-from-now-on.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/oauth2/redirect';
const POST_LOGOUT_REDIRECT_URI = 'http://127.0.0.1:9/';

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  jwks_uri: string;
  end_session_endpoint: string;
  code_challenge_methods_supported: string[];
  scopes_supported: string[];
  claims_supported: string[];
  response_types_supported: string[];
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(response.status, 200);
  return (await response.json()) as Discovery;
}

function authorizationRequest(provider: TestProvider, discovery: Discovery, { pkce = true } = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: provider.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile email',
    state,
    nonce: randomBytes(8).toString('hex'),
    ...(pkce ? { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' } : {}),
  }).toString();
  return { url: url.href, verifier, state };
}

async function redeem(provider: TestProvider, discovery: Discovery, code: string, verifier?: string) {
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${provider.clientId}:${provider.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...(verifier ? { code_verifier: verifier } : {}) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

describe('embedded OpenID provider', () => {
  let provider: TestProvider;
  let discovery: Discovery;

  before(async () => {
    provider = await startTestProvider({ redirectUri: REDIRECT_URI, postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI });
    discovery = await discover(provider.issuer);
  });
  after(() => provider.close());

  test('the discovery document names the issuer, its endpoints, S256 PKCE and the groups claim', () => {
    assert.equal(discovery.issuer, provider.issuer);
    assert.match(provider.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint'] as const) {
      assert.ok(discovery[endpoint].startsWith(`${provider.issuer}/`), endpoint);
    }
    assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(discovery.response_types_supported, ['code']);
    for (const scope of ['openid', 'profile', 'email']) assert.ok(discovery.scopes_supported.includes(scope), scope);
    assert.ok(discovery.claims_supported.includes('groups'));
  });

  test('an authorization request without PKCE is sent back to the client with an error and no code', async () => {
    const { url, state } = authorizationRequest(provider, discovery, { pkce: false });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 303);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /PKCE/);
    assert.equal(location.searchParams.get('state'), state);
    assert.equal(location.searchParams.has('code'), false);
  });

  test('a login hop by hop ends at the redirect_uri with a code, redeemable for a signed ID token with groups', async () => {
    const { url, verifier, state } = authorizationRequest(provider, discovery);
    const { callbackUrl, hops } = await completeProviderLogin(url, { username: 'alice', password: 'alice-test-password' });

    assert.deepEqual(hops.map((hop) => `${hop.method} ${hop.status}`), ['GET 303', 'GET 200', 'POST 303', 'GET 303']);
    assert.match(hops[0].location ?? '', /^\/interaction\/[\w-]+$/);
    assert.equal(hops[2].location, `${provider.issuer}/auth/${hops[0].location?.split('/').pop()}`);
    const callback = new URL(callbackUrl);
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), provider.issuer);
    const code = callback.searchParams.get('code');
    assert.ok(code);

    const tokens = await redeem(provider, discovery, code, verifier);
    assert.equal(tokens.status, 200);
    const { payload } = await jwtVerify(tokens.body.id_token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: provider.issuer, audience: provider.clientId,
    });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.name, 'Alice Example');
    assert.equal(payload.email, 'alice@example.com');
    assert.deepEqual(payload.groups, ['dispatchers', 'riders']);

    const userinfo = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
    assert.deepEqual(await userinfo.json(), {
      sub: 'alice', name: 'Alice Example', email: 'alice@example.com', email_verified: true, groups: ['dispatchers', 'riders'],
    });
  });

  test('a code is not redeemable without its PKCE code_verifier', async () => {
    const { url } = authorizationRequest(provider, discovery);
    const { callbackUrl } = await completeProviderLogin(url, { username: 'bob', password: 'bob-test-password' });
    const tokens = await redeem(provider, discovery, new URL(callbackUrl).searchParams.get('code') ?? '');
    assert.equal(tokens.status, 400);
    assert.equal(tokens.body.error, 'invalid_grant');
  });

  test('a wrong password re-renders the login form with an error and yields no code', async () => {
    const { url } = authorizationRequest(provider, discovery);
    const log = logFromNowOn(provider.logger);
    const error = await completeProviderLogin(url, { username: 'alice', password: 'not-her-password' }).then(
      () => assert.fail('login should have been rejected'),
      (rejection: unknown) => rejection,
    );
    assert.ok(error instanceof ProviderLoginError);
    assert.match(error.message, /rejected the credentials/);
    assert.deepEqual(error.hops.map((hop) => `${hop.method} ${hop.status}`), ['GET 303', 'GET 200', 'POST 200']);
    assert.match(error.body, /Unknown username or wrong password/);
    assert.match(error.body, /value="alice"/);
    assert.ok(!error.body.includes('not-her-password'));
    const failures = log().filter((entry) => entry.event === 'dev_provider_login_failed');
    assert.deepEqual(failures.map((entry) => entry.fields), [{}], 'one entry, and the typed username (often a mistyped password) stays out of the log');
  });

  test('an unknown username is refused like a wrong password', async () => {
    const { url } = authorizationRequest(provider, discovery);
    await assert.rejects(completeProviderLogin(url, { username: 'mallory', password: 'alice-test-password' }), /rejected the credentials/);
  });

  test('a login POST without the interaction cookie gets an error page, not a crash', async () => {
    const { url } = authorizationRequest(provider, discovery);
    const start = await fetch(url, { redirect: 'manual' });
    const interaction = new URL(start.headers.get('location') ?? '', provider.issuer);
    const response = await fetch(`${interaction.href}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-test-password',
    });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /cannot continue/);
  });

  test('RP-initiated logout with id_token_hint returns to the registered post_logout_redirect_uri', async () => {
    const { url, verifier } = authorizationRequest(provider, discovery);
    const { callbackUrl, cookies } = await completeProviderLogin(url, { username: 'carol', password: 'carol-test-password' });
    const tokens = await redeem(provider, discovery, new URL(callbackUrl).searchParams.get('code') ?? '', verifier);
    const endSession = new URL(discovery.end_session_endpoint);
    endSession.search = new URLSearchParams({
      id_token_hint: tokens.body.id_token, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: 'bye',
    }).toString();

    const { redirectUrl, hops } = await completeProviderLogout(endSession.href, cookies);
    assert.deepEqual(hops.map((hop) => `${hop.method} ${hop.status}`), ['GET 200', 'POST 303']);
    assert.equal(redirectUrl, `${POST_LOGOUT_REDIRECT_URI}?state=bye`);

    const again = await completeProviderLogin(authorizationRequest(provider, discovery).url, TEST_USERS[2], cookies);
    assert.equal(again.hops[1].status, 200, 'the provider session is gone, so the login form is shown again');
  });

  test('RP-initiated logout refuses an unregistered post_logout_redirect_uri', async () => {
    const endSession = new URL(discovery.end_session_endpoint);
    endSession.search = new URLSearchParams({ client_id: provider.clientId, post_logout_redirect_uri: 'https://evil.example/' }).toString();
    const response = await fetch(endSession, { redirect: 'manual' });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /post_logout_redirect_uri not registered/);
  });
});

describe('embedded OpenID provider signing key rotation', () => {
  test('rotateSigningKey publishes a new kid, drops the old one, and keeps the issuer and provider sessions', async () => {
    const provider = await startTestProvider({ redirectUri: REDIRECT_URI, postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI });
    try {
      const discovery = await discover(provider.issuer);
      const kidsOf = async () => ((await (await fetch(discovery.jwks_uri)).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
      const before = await kidsOf();
      assert.equal(before.length, 1);
      const cookies = new ProviderCookieJar();
      await completeProviderLogin(authorizationRequest(provider, discovery).url, TEST_USERS[0], cookies);

      await provider.rotateSigningKey();

      const afterRotation = await kidsOf();
      assert.equal(afterRotation.length, 1);
      assert.notEqual(afterRotation[0], before[0]);
      assert.equal((await discover(provider.issuer)).issuer, provider.issuer);

      const { url, verifier } = authorizationRequest(provider, discovery);
      const { callbackUrl, hops } = await completeProviderLogin(url, TEST_USERS[0], cookies);
      assert.deepEqual(hops.map((hop) => hop.status), [303], 'the provider session survived the rotation');
      const tokens = await redeem(provider, discovery, new URL(callbackUrl).searchParams.get('code') ?? '', verifier);
      assert.equal(decodeProtectedHeader(tokens.body.id_token).kid, afterRotation[0]);
    } finally {
      await provider.close();
    }
  });
});

describe('embedded OpenID provider login page', () => {
  test('in dev it lists the demo users with their passwords, HTML-escaped, under a no-script CSP', async () => {
    const users = [{ ...TEST_USERS[0] }, { ...TEST_USERS[1], name: '<script>alert(1)</script>', password: 'a"b<c' }];
    const provider = await startEmbeddedProvider({
      host: '127.0.0.1', port: 0, users, logger: createMemoryLogger(), showUserList: true,
      clients: [{ clientId: 'demo', clientSecret: 'demo-secret', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [] }],
    });
    try {
      const url = new URL(`${provider.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: 'demo', redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
      }).toString();
      const start = await fetch(url, { redirect: 'manual' });
      const cookie = start.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
      const page = await fetch(new URL(start.headers.get('location') ?? '', provider.issuer), { headers: { cookie } });
      const html = await page.text();

      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.ok(html.includes('alice-test-password'));
      assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(html.includes('value="a&quot;b&lt;c"'));
      assert.ok(!/<script/i.test(html));
    } finally {
      await provider.close();
    }
  });
});
