import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMetadata } from '../../server/auth/provider-metadata.ts';

const ISSUER = 'https://idp.example.com/';
const document = (overrides: Record<string, unknown> = {}) => ({
  issuer: ISSUER,
  authorization_endpoint: 'https://idp.example.com/authorize',
  token_endpoint: 'https://idp.example.com/token',
  jwks_uri: 'https://idp.example.com/jwks',
  ...overrides,
});
const refusal = (detail: RegExp) => (error: { code?: string; detail?: string }) => error.code === 'provider_error' && detail.test(error.detail ?? '');

describe('parseMetadata', () => {
  it('keeps the endpoints of a valid document and defaults what discovery allows to be absent', () => {
    const metadata = parseMetadata(document(), ISSUER);
    assert.equal(metadata.tokenEndpoint, 'https://idp.example.com/token');
    assert.deepEqual(metadata.idTokenSigningAlgs, ['RS256']);
    assert.deepEqual(metadata.tokenEndpointAuthMethods, ['client_secret_basic']);
    assert.equal(metadata.endSessionEndpoint, undefined);
  });

  it('refuses a document whose issuer differs by as little as a trailing slash', () => {
    assert.throws(() => parseMetadata(document({ issuer: 'https://idp.example.com' }), ISSUER), refusal(/does not match OIDC_ISSUER/));
  });

  it('refuses plain-http endpoints under an https issuer, where the code and client secret would travel in clear', () => {
    assert.throws(() => parseMetadata(document({ token_endpoint: 'http://idp.example.com/token' }), ISSUER), refusal(/token_endpoint/));
  });

  it('allows http endpoints when the issuer itself is local', () => {
    const local = 'http://localhost:3001';
    const metadata = parseMetadata(document({ issuer: local, token_endpoint: 'http://localhost:3001/token', authorization_endpoint: 'http://localhost:3001/auth', jwks_uri: 'http://localhost:3001/jwks' }), local);
    assert.equal(metadata.tokenEndpoint, 'http://localhost:3001/token');
  });

  it('serialises endpoint URLs, so raw Unicode never reaches a Location header', () => {
    const metadata = parseMetadata(document({ authorization_endpoint: 'https://idp.example.com/auth中' }), ISSUER);
    assert.equal(metadata.authorizationEndpoint, 'https://idp.example.com/auth%E4%B8%AD');
  });

  it('drops symmetric and none algorithms, and refuses a provider left with none', () => {
    assert.deepEqual(parseMetadata(document({ id_token_signing_alg_values_supported: ['HS256', 'none', 'ES256'] }), ISSUER).idTokenSigningAlgs, ['ES256']);
    assert.throws(() => parseMetadata(document({ id_token_signing_alg_values_supported: ['HS256', 'none'] }), ISSUER), refusal(/asymmetric/));
  });

  it('refuses a missing or non-URL required endpoint', () => {
    assert.throws(() => parseMetadata(document({ jwks_uri: undefined }), ISSUER), refusal(/jwks_uri/));
    assert.throws(() => parseMetadata(document({ authorization_endpoint: 42 }), ISSUER), refusal(/authorization_endpoint/));
    assert.throws(() => parseMetadata(document({ token_endpoint: 'javascript:alert(1)' }), ISSUER), refusal(/token_endpoint/));
  });
});
