import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose/jwt/sign';
import { AppError } from '../errors/app-error.ts';
import type { ClientKey } from './client-key.ts';
import type { ProviderMetadata } from './provider-metadata.ts';

/** Named after the client registration metadata `token_endpoint_auth_method` (RFC 7591 §2). */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type TokenEndpointAuthMethod = typeof TOKEN_ENDPOINT_AUTH_METHODS[number];

export interface ClientCredentials {
  clientId: string;
  /** Empty with private_key_jwt. */
  clientSecret: string;
  /** Unset: client_secret_basic, or client_secret_post when the provider offers only that. */
  authMethod?: TokenEndpointAuthMethod;
  /** Set exactly when authMethod is private_key_jwt (load-config checks it). */
  clientKey?: ClientKey;
}

// RFC 7523 §3 asks for an expiry "within a reasonable duration"; the assertion is used at once.
const ASSERTION_TTL_SECONDS = 60;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * The method this client authenticates with at this provider, or why it cannot: what the start-up
 * check prints, and what a login logs when the provider changed its mind since.
 */
export function chooseAuthMethod(client: Pick<ClientCredentials, 'authMethod' | 'clientKey'>, metadata: ProviderMetadata):
  { method: TokenEndpointAuthMethod } | { problem: string } {
  const offered = metadata.tokenEndpointAuthMethods;
  const listed = `the provider's token_endpoint_auth_methods_supported is ${JSON.stringify(offered)}`;
  if (client.authMethod === undefined) {
    const method = (['client_secret_basic', 'client_secret_post'] as const).find((m) => offered.includes(m));
    if (method) return { method };
    return { problem: `OIDC_TOKEN_ENDPOINT_AUTH_METHOD is unset and the provider offers neither client_secret_basic nor client_secret_post (${listed})` };
  }
  if (!offered.includes(client.authMethod)) {
    return { problem: `OIDC_TOKEN_ENDPOINT_AUTH_METHOD=${client.authMethod} is not offered: ${listed}` };
  }
  const signingAlgs = metadata.tokenEndpointAuthSigningAlgs;
  if (client.authMethod === 'private_key_jwt' && client.clientKey && signingAlgs && !signingAlgs.includes(client.clientKey.alg)) {
    return { problem: `the key in OIDC_CLIENT_KEY_FILE signs ${client.clientKey.alg}, but the provider's token_endpoint_auth_signing_alg_values_supported is ${JSON.stringify(signingAlgs)}` };
  }
  return { method: client.authMethod };
}

/** chooseAuthMethod for a request: a mismatch is this service's configuration, not the user's doing. */
export function requireAuthMethod(client: ClientCredentials, metadata: ProviderMetadata): TokenEndpointAuthMethod {
  const choice = chooseAuthMethod(client, metadata);
  if ('method' in choice) return choice.method;
  throw new AppError('internal_error', {
    message: 'Sign-in is not set up correctly: the identity provider does not accept how this service authenticates. An administrator must check OIDC_TOKEN_ENDPOINT_AUTH_METHOD.',
    detail: choice.problem,
  });
}

/** Adds the client's credentials to a token request (RFC 6749 §2.3.1, RFC 7523 §2.2). */
export async function authenticateClient(
  client: ClientCredentials, metadata: ProviderMetadata, request: { headers: Record<string, string>; body: URLSearchParams }, nowMs: number,
): Promise<void> {
  const method = requireAuthMethod(client, metadata);
  if (method === 'client_secret_basic') {
    // RFC 6749 §2.3.1: id and secret are form-encoded before base64 (a secret with + / = survives).
    const credentials = `${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`;
    request.headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else if (method === 'client_secret_post') {
    request.body.set('client_id', client.clientId);
    request.body.set('client_secret', client.clientSecret);
  } else {
    if (!client.clientKey) throw new AppError('internal_error', { detail: 'private_key_jwt without a client key' });
    // Entra ID wants client_id next to the assertion; RFC 7523 §3 allows it, and it must equal sub.
    request.body.set('client_id', client.clientId);
    request.body.set('client_assertion_type', JWT_BEARER);
    request.body.set('client_assertion', await signClientAssertion(client.clientId, client.clientKey, metadata.tokenEndpoint, nowMs));
  }
}

/** RFC 7523 §3: iss and sub are the client id, aud the token endpoint (OIDC Core §9), jti single-use. */
export function signClientAssertion(clientId: string, key: ClientKey, tokenEndpoint: string, nowMs: number): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...key.x5t })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenEndpoint)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(now)
    .setExpirationTime(now + ASSERTION_TTL_SECONDS)
    .sign(key.jwk as Parameters<SignJWT['sign']>[0]);
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
