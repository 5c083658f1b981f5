import { AppError } from '../errors/app-error.ts';
import { authenticateClient, type ClientCredentials } from './client-auth.ts';
import { callProvider, DEFAULT_PROVIDER_HTTP, fetchProviderJson, isJsonObject, type ProviderHttpOptions } from './provider-http.ts';
import type { ProviderMetadata } from './provider-metadata.ts';

export interface TokenResponse extends Record<string, unknown> {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
}

/** RFC 6749 §4.1.3 with PKCE's code_verifier (RFC 7636 §4.5); `nowMs` dates a client assertion. */
export async function exchangeCode(
  metadata: ProviderMetadata, client: ClientCredentials, params: Record<string, string>, nowMs: number,
  http: ProviderHttpOptions = DEFAULT_PROVIDER_HTTP,
): Promise<TokenResponse> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  await authenticateClient(client, metadata, { headers, body }, nowMs);
  const answer = await callProvider(metadata.tokenEndpoint, { method: 'POST', headers, body }, 'token', http);
  if (answer.status >= 500) throw new AppError('provider_unavailable', { detail: `token: HTTP ${answer.status}` });
  if (answer.status !== 200) {
    const error = isJsonObject(answer.json) && typeof answer.json.error === 'string' ? answer.json.error : `HTTP ${answer.status}`;
    throw new AppError('login_failed', { detail: `token endpoint refused: ${error.slice(0, 100)}` });
  }
  if (!isJsonObject(answer.json)) throw new AppError('provider_error', { detail: 'token: the answer is not a JSON object' });
  if (typeof answer.json.id_token !== 'string') throw new AppError('provider_error', { detail: 'token: no id_token in the answer' });
  // passport-openidconnect reads the payload unguarded before our signature check runs: give it only JSON objects.
  if (!hasJsonObjectPayload(answer.json.id_token)) throw new AppError('provider_error', { detail: 'token: the id_token payload is not a JSON object' });
  return answer.json as TokenResponse;
}

export async function fetchUserinfo(endpoint: string, accessToken: string, http: ProviderHttpOptions = DEFAULT_PROVIDER_HTTP): Promise<Record<string, unknown>> {
  return fetchProviderJson(endpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } }, 'userinfo', http);
}

function hasJsonObjectPayload(jwt: string): boolean {
  const parts = jwt.split('.');
  if (parts.length !== 3) return false;
  try {
    return isJsonObject(JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')));
  } catch {
    return false;
  }
}
