import { describeError } from '../errors/describe-error.ts';
import { authenticateClient, type ClientCredentials } from './client-auth.ts';
import { callProvider, DEFAULT_PROVIDER_HTTP, isJsonObject, type ProviderHttpOptions } from './provider-http.ts';
import type { ProviderMetadata } from './provider-metadata.ts';
import type { TokenResponse } from './provider-calls.ts';
import type { ProviderGrant } from './session-user.ts';
import type { Sealer } from '../sessions/seal.ts';

/** What the provider said about a session's grant: new tokens, a refusal that ends it, or nothing usable now. */
export type GrantAnswer<T> =
  | { kind: 'ok'; value: T }
  /** The provider no longer stands behind this login (user disabled, grant revoked, token expired). */
  | { kind: 'refused'; reason: string }
  /** The provider could not be asked, or answered something unusable: keep the last good claims for a while. */
  | { kind: 'unavailable'; reason: string };

/** RFC 6749 §6: a refresh token for new tokens (and, from an OpenID provider, usually a new ID token). */
export async function refreshTokens(
  metadata: ProviderMetadata, client: ClientCredentials, refreshToken: string, nowMs: number, http: ProviderHttpOptions = DEFAULT_PROVIDER_HTTP,
): Promise<GrantAnswer<TokenResponse>> {
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  try {
    await authenticateClient(client, metadata, { headers, body }, nowMs);
    const answer = await callProvider(metadata.tokenEndpoint, { method: 'POST', headers, body }, 'token (refresh)', http);
    const error = isJsonObject(answer.json) && typeof answer.json.error === 'string' ? answer.json.error.slice(0, 100) : undefined;
    // RFC 6749 §5.2: invalid_grant is the provider saying no to this grant; anything else is ours or its trouble.
    if (answer.status === 400 && error === 'invalid_grant') return { kind: 'refused', reason: 'refresh token refused: invalid_grant' };
    if (answer.status !== 200) return { kind: 'unavailable', reason: `token (refresh): ${error ?? `HTTP ${answer.status}`}` };
    if (!isJsonObject(answer.json) || typeof answer.json.access_token !== 'string') {
      return { kind: 'unavailable', reason: 'token (refresh): no access_token in the answer' };
    }
    return { kind: 'ok', value: answer.json as TokenResponse };
  } catch (error) {
    return { kind: 'unavailable', reason: describeError(error) };
  }
}

/** OIDC Core §5.3: the user's claims for an access token; 401 means the token (so the login) is no longer good. */
export async function readUserinfo(
  metadata: ProviderMetadata, accessToken: string, http: ProviderHttpOptions = DEFAULT_PROVIDER_HTTP,
): Promise<GrantAnswer<Record<string, unknown>>> {
  if (!metadata.userinfoEndpoint) return { kind: 'unavailable', reason: 'the provider has no userinfo endpoint' };
  try {
    const answer = await callProvider(metadata.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } }, 'userinfo', http);
    // RFC 6750 §3.1: invalid_token, the access token was revoked or the account disabled.
    if (answer.status === 401) return { kind: 'refused', reason: 'userinfo refused the access token' };
    if (answer.status !== 200 || !isJsonObject(answer.json)) return { kind: 'unavailable', reason: `userinfo: HTTP ${answer.status}` };
    return { kind: 'ok', value: answer.json };
  } catch (error) {
    return { kind: 'unavailable', reason: describeError(error) };
  }
}

/** The provider's tokens as a session keeps them: sealed, with the access token's expiry. */
export function sealGrant(sealer: Sealer, accessToken: string | undefined, refreshToken: string | undefined, tokens: unknown, nowMs: number): ProviderGrant {
  const expiresIn = isJsonObject(tokens) && typeof tokens.expires_in === 'number' && Number.isFinite(tokens.expires_in) ? tokens.expires_in : undefined;
  return {
    ...(refreshToken ? { refreshToken: sealer.seal(refreshToken) } : {}),
    ...(accessToken ? { accessToken: sealer.seal(accessToken) } : {}),
    // RFC 6749 §5.1: expires_in is in seconds; without it the access token is used until userinfo refuses it.
    ...(accessToken && expiresIn !== undefined ? { accessTokenExpiresAt: nowMs + expiresIn * 1000 } : {}),
  };
}
