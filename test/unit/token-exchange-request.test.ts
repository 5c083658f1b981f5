import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExchangeRequest } from '../../server/exchange/exchange-request.ts';
import { OAuthError } from '../../server/exchange/oauth-error.ts';
import { subjectOf } from '../../server/exchange/subject-claims.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const form = (fields: Array<[string, string]>) => new URLSearchParams(fields);
const base: Array<[string, string]> = [['grant_type', GRANT], ['subject_token', 'tok'], ['subject_token_type', AT]];

function refusal(fields: Array<[string, string]>): string {
  try {
    parseExchangeRequest(form(fields));
  } catch (error) {
    assert.ok(error instanceof OAuthError);
    return error.code;
  }
  assert.fail('expected an OAuthError');
}

describe('parseExchangeRequest (RFC 8693 §2.1)', () => {
  it('reads the subject token and keeps only realm, per and strict for downscoping', () => {
    const request = parseExchangeRequest(form([...base, ['realm', 'london'], ['realm', 'paris'], ['per', '{}'], ['strict', 'true'], ['client_id', 'app']]));
    assert.equal(request.subjectToken, 'tok');
    assert.equal(request.scope.toString(), 'realm=london&realm=paris&per=%7B%7D&strict=true');
  });

  it('treats empty parameters as absent and ignores unknown ones (RFC 6749 §3.2)', () => {
    const request = parseExchangeRequest(form([...base, ['realm', ''], ['requested_token_type', ''], ['unknown', 'x']]));
    assert.equal(request.scope.toString(), '');
  });

  const table: Array<[string, Array<[string, string]>, string]> = [
    ['no grant_type', base.slice(1), 'invalid_request'],
    ['another grant type', [['grant_type', 'password'], ...base.slice(1)], 'unsupported_grant_type'],
    ['no subject_token', [base[0]!, base[2]!], 'invalid_request'],
    ['no subject_token_type', base.slice(0, 2), 'invalid_request'],
    ['an ID token type', [...base.slice(0, 2), ['subject_token_type', 'urn:ietf:params:oauth:token-type:id_token']], 'invalid_request'],
    ['subject_token twice', [...base, ['subject_token', 'other']], 'invalid_request'],
    ['per twice', [...base, ['per', '{}'], ['per', '{}']], 'invalid_request'],
    ['an actor token (delegation)', [...base, ['actor_token', 'x'], ['actor_token_type', AT]], 'invalid_request'],
    ['an access token asked for', [...base, ['requested_token_type', AT]], 'invalid_request'],
    ['a resource', [...base, ['resource', 'https://api.example']], 'invalid_target'],
    ['an audience', [...base, ['audience', 'other']], 'invalid_target'],
    ['a scope', [...base, ['scope', 'admin']], 'invalid_scope'],
  ];
  for (const [name, fields, code] of table) {
    it(`refuses ${name} with ${code}`, () => assert.equal(refusal(fields), code));
  }
});

describe('subjectOf: the claims the policy sees for a subject token', () => {
  it("a user's access token: protocol claims dropped, scope as an array, client_id kept", () => {
    const subject = subjectOf({
      iss: 'https://idp', aud: 'urn:bff', exp: 2, iat: 1, jti: 'j', sub: 'bob', client_id: 'mobile', scope: 'openid  hivekit:read', groups: ['riders'],
    });
    assert.deepEqual(subject, {
      sub: 'bob', clientId: 'mobile', kind: 'user',
      claims: { sub: 'bob', client_id: 'mobile', scope: ['openid', 'hivekit:read'], groups: ['riders'] },
    });
  });

  it('a client-credentials token (RFC 9068 §2.2: sub is the client) is a client subject', () => {
    assert.equal(subjectOf({ sub: 'job', client_id: 'job' }).kind, 'client');
    // Auth0: sub "<id>@clients", azp the client id, gty client-credentials.
    const auth0 = subjectOf({ sub: 'abc@clients', azp: 'abc', gty: 'client-credentials', scope: 'read:x' });
    assert.deepEqual([auth0.sub, auth0.clientId, auth0.kind, auth0.claims.client_id], ['abc@clients', 'abc', 'client', 'abc']);
  });

  it('an introspection answer without sub: the client is the subject', () => {
    const subject = subjectOf({ active: true, client_id: 'job', scope: 'hivekit:read', token_type: 'Bearer' });
    assert.deepEqual([subject.sub, subject.kind], ['job', 'client']);
    assert.deepEqual(subject.claims, { client_id: 'job', scope: ['hivekit:read'], sub: 'job' });
  });

  it("Okta's scp array counts as scope; a non-string scope is left out", () => {
    assert.deepEqual(subjectOf({ sub: 'u', scp: ['a', 'b'] }).claims.scope, ['a', 'b']);
    assert.equal(Object.hasOwn(subjectOf({ sub: 'u', scope: 42 }).claims, 'scope'), false);
  });

  it('a claim named __proto__ stays an own data property', () => {
    const subject = subjectOf(JSON.parse('{"sub":"u","__proto__":{"polluted":true}}') as Record<string, unknown>);
    assert.equal(Object.hasOwn(subject.claims, '__proto__'), true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a token naming neither sub nor client is refused', () => {
    assert.throws(() => subjectOf({ scope: 'x' }), (error: unknown) => error instanceof OAuthError && error.code === 'invalid_grant');
  });
});
