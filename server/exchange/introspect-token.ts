import { authenticateClient, type ClientCredentials } from '../auth/client-auth.ts';
import { AppError } from '../errors/app-error.ts';
import { callProvider, DEFAULT_PROVIDER_HTTP, isJsonObject, type ProviderHttpOptions } from '../auth/provider-http.ts';
import type { ProviderMetadata } from '../auth/provider-metadata.ts';
import { INVALID_SUBJECT_TOKEN, OAuthError } from './oauth-error.ts';

/**
 * RFC 7662 §2: asks the provider about an opaque access token, authenticated as this service's
 * client the way its logins authenticate at the token endpoint (auth/client-auth.ts). Returns the
 * answer for an active token that passes the checks a JWT would (issuer, audience, expiry with
 * leeway, a plain bearer token); anything else is invalid_grant, and a provider that cannot answer
 * is provider_unavailable or provider_error.
 */
export async function introspectToken(
  token: string,
  context: {
    metadata: ProviderMetadata; client: ClientCredentials; audience: string; nowSeconds: number; leewaySeconds: number;
    http?: ProviderHttpOptions;
  },
): Promise<Record<string, unknown>> {
  const { metadata, client } = context;
  if (metadata.introspectionEndpoint === undefined) {
    throw new AppError('provider_error', { detail: 'token exchange: TOKEN_EXCHANGE_INTROSPECTION is on but the provider publishes no introspection_endpoint' });
  }
  const request = {
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } as Record<string, string>,
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  };
  await authenticateClient(client, metadata, request, context.nowSeconds * 1000);
  const answer = await callProvider(metadata.introspectionEndpoint, { method: 'POST', ...request }, 'introspection', context.http ?? DEFAULT_PROVIDER_HTTP);
  if (answer.status >= 500) throw new AppError('provider_unavailable', { detail: `introspection: HTTP ${answer.status}` });
  // 401/403: the provider does not accept our client for introspection; the operator must fix that, not the caller.
  if (answer.status !== 200) throw new AppError('provider_error', { detail: `introspection: HTTP ${answer.status}` });
  if (!isJsonObject(answer.json)) throw new AppError('provider_error', { detail: 'introspection: the answer is not a JSON object' });
  const refuse = (detail: string): never => { throw new OAuthError('invalid_grant', INVALID_SUBJECT_TOKEN, `introspection: ${detail}`); };
  const claims = answer.json;
  if (claims.active !== true) refuse('token is not active');
  if (claims.iss !== undefined && claims.iss !== metadata.issuer) refuse('unexpected iss');
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  if (!audiences.includes(context.audience)) refuse('unexpected or missing aud');
  const { nowSeconds: now, leewaySeconds: leeway } = context;
  // Active already means unexpired to the provider; our own clock must agree too, as for a JWT.
  if (typeof claims.exp !== 'number' || claims.exp <= now - leeway) refuse('expired or without exp');
  if (typeof claims.nbf === 'number' && claims.nbf > now + leeway) refuse('not yet valid (nbf)');
  if (claims.token_type !== undefined && String(claims.token_type).toLowerCase() !== 'bearer') refuse('not a bearer access token');
  return claims;
}
