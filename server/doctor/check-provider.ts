import { createHash, randomBytes } from 'node:crypto';
import { authenticateClient, chooseAuthMethod } from '../auth/client-auth.ts';
import { parseMetadata, type ProviderMetadata } from '../auth/provider-metadata.ts';
import type { Config } from '../config/load-config.ts';
import type { CheckResult } from './check-result.ts';

const TIMEOUT_MS = 5000;
// HTTP dates have whole seconds; a few more cover the round trip and a provider behind a cache.
export const MAX_CLOCK_SKEW_SECONDS = 5;

interface Answer { status: number; headers: Headers; text: string; json: unknown; sentAt: number; receivedAt: number }

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const sentAt = Date.now();
  const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await response.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: response.status, headers: response.headers, text, json, sentAt, receivedAt: Date.now() };
}

function reason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

const field = (json: unknown, name: string): unknown => (typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[name] : undefined);

/** OIDC Discovery §4: reachable, a JSON document whose issuer is OIDC_ISSUER exactly (§4.3). */
export async function checkDiscovery(config: Config): Promise<{ result: CheckResult; metadata?: ProviderMetadata; answer?: Answer }> {
  const issuer = config.oidc.issuer;
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let answer: Answer;
  try {
    answer = await call(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    return { result: { name: 'discovery', ok: false, detail: `${url}: ${reason(error)}`,
      fix: 'check OIDC_ISSUER (scheme, host, port) and that this machine reaches it: DNS, firewall, outbound proxy' } };
  }
  if (answer.status !== 200 || typeof answer.json !== 'object' || answer.json === null) {
    return { result: { name: 'discovery', ok: false, detail: `${url}: HTTP ${answer.status}${answer.json === undefined ? ', not JSON' : ''}`,
      fix: 'OIDC_ISSUER must be the issuer itself (the URL before /.well-known/openid-configuration), as the provider documents it' } };
  }
  const advertised = field(answer.json, 'issuer');
  if (advertised !== issuer) {
    return { answer, result: { name: 'issuer', ok: false, detail: `the provider says issuer ${JSON.stringify(advertised)}, OIDC_ISSUER is ${JSON.stringify(issuer)}`,
      fix: typeof advertised === 'string' ? `set OIDC_ISSUER=${advertised} (compared exactly, trailing slash included)` : 'the discovery document has no issuer: is OIDC_ISSUER an OpenID provider?' } };
  }
  try {
    const metadata = parseMetadata(answer.json as Record<string, unknown>, issuer);
    return { answer, metadata, result: { name: 'discovery', ok: true, detail: `${url}: issuer matches, token endpoint ${metadata.tokenEndpoint}` } };
  } catch (error) {
    return { answer, result: { name: 'discovery', ok: false, detail: (error as { detail?: string }).detail ?? String(error),
      fix: 'the provider\'s discovery document is not usable by this service; see the detail' } };
  }
}

const KEY_TYPES: Record<string, (key: Record<string, unknown>) => boolean> = {
  RS: (key) => key.kty === 'RSA', PS: (key) => key.kty === 'RSA',
  ES256: (key) => key.kty === 'EC' && key.crv === 'P-256', ES384: (key) => key.kty === 'EC' && key.crv === 'P-384',
  ES512: (key) => key.kty === 'EC' && key.crv === 'P-521', EdDSA: (key) => key.kty === 'OKP',
};

function keyFits(alg: string, key: Record<string, unknown>): boolean {
  if (key.use !== undefined && key.use !== 'sig') return false;
  if (typeof key.alg === 'string') return key.alg === alg;
  return (KEY_TYPES[alg] ?? KEY_TYPES[alg.slice(0, 2)])?.(key) ?? false;
}

/** The ID token keys: the JWKS answers and holds a signing key for an algorithm discovery advertises. */
export async function checkJwks(metadata: ProviderMetadata): Promise<CheckResult> {
  let answer: Answer;
  try {
    answer = await call(metadata.jwksUri, { headers: { accept: 'application/json' } });
  } catch (error) {
    return { name: 'jwks', ok: false, detail: `${metadata.jwksUri}: ${reason(error)}`, fix: 'the provider\'s jwks_uri must be reachable from this machine: DNS, firewall, outbound proxy' };
  }
  const keys = field(answer.json, 'keys');
  if (answer.status !== 200 || !Array.isArray(keys)) {
    return { name: 'jwks', ok: false, detail: `${metadata.jwksUri}: HTTP ${answer.status}, no "keys" array`, fix: 'the provider\'s jwks_uri does not serve a JWK Set; check the provider' };
  }
  const covered = metadata.idTokenSigningAlgs.filter((alg) => keys.some((key) => typeof key === 'object' && key !== null && keyFits(alg, key as Record<string, unknown>)));
  if (covered.length === 0) {
    return { name: 'jwks', ok: false, detail: `${keys.length} key(s), none for ${metadata.idTokenSigningAlgs.join(', ')}`,
      fix: 'the provider advertises ID token algorithms it has no key for; configure a signing key at the provider' };
  }
  return { name: 'jwks', ok: true, detail: `${keys.length} key(s); keys for ${covered.join(', ')}` };
}

/**
 * The redirect URI: https in production, and not refused by the authorization endpoint (a provider
 * that does not know it answers an error page instead of its login).
 */
export async function checkRedirectUri(config: Config, metadata: ProviderMetadata | undefined): Promise<CheckResult> {
  const redirectUri = config.oidc.redirectUri;
  if (config.isProduction && !redirectUri.startsWith('https:')) {
    return { name: 'redirect uri', ok: false, detail: `${redirectUri} is not https`, fix: 'set PUBLIC_URL to the https URL users reach this service at (TLS ends at your proxy)' };
  }
  if (!metadata) return { name: 'redirect uri', ok: true, detail: `${redirectUri} (not checked at the provider: discovery failed)` };
  const url = new URL(metadata.authorizationEndpoint);
  const challenge = createHash('sha256').update(randomBytes(32)).digest('base64url');
  for (const [name, value] of Object.entries({ client_id: config.oidc.clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid', state: randomBytes(16).toString('base64url'), code_challenge: challenge, code_challenge_method: 'S256' })) {
    url.searchParams.set(name, value);
  }
  try {
    const answer = await call(url.href);
    const location = answer.headers.get('location');
    // An error sent back to our redirect URI means the provider accepted it as this client's.
    if (answer.status >= 400) {
      return { name: 'redirect uri', ok: false, detail: `the authorization endpoint answers HTTP ${answer.status} for ${redirectUri}`,
        fix: `register ${redirectUri} as a redirect URI of client ${config.oidc.clientId} at the provider, or fix PUBLIC_URL or OIDC_CLIENT_ID` };
    }
    const to = location ? new URL(location, url).href : '(a page)';
    return { name: 'redirect uri', ok: true, detail: `${redirectUri}: the authorization endpoint answers ${answer.status} → ${to.startsWith(redirectUri) ? 'back to it' : 'its login'}` };
  } catch (error) {
    return { name: 'redirect uri', ok: false, detail: `${metadata.authorizationEndpoint}: ${reason(error)}`, fix: 'the provider\'s authorization endpoint must be reachable' };
  }
}

/**
 * The client credentials, with the authentication logins use: a code exchange with a code that
 * cannot be valid must fail with invalid_grant (RFC 6749 §5.2), the answer given to an
 * authenticated client; invalid_client means the credentials were refused.
 */
export async function checkClientCredentials(config: Config, metadata: ProviderMetadata): Promise<CheckResult> {
  const client = { clientId: config.oidc.clientId, clientSecret: config.oidc.clientSecret, authMethod: config.oidc.tokenEndpointAuthMethod, clientKey: config.oidc.clientKey };
  const choice = chooseAuthMethod(client, metadata);
  if ('problem' in choice) return { name: 'client credentials', ok: false, detail: choice.problem, fix: 'set OIDC_TOKEN_ENDPOINT_AUTH_METHOD to a method the provider lists' };
  const request = {
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } as Record<string, string>,
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: `doctor-${randomBytes(16).toString('base64url')}`,
      redirect_uri: config.oidc.redirectUri, code_verifier: randomBytes(32).toString('base64url'),
    }),
  };
  let answer: Answer;
  try {
    await authenticateClient(client, metadata, request, Date.now());
    answer = await call(metadata.tokenEndpoint, { method: 'POST', headers: request.headers, body: request.body.toString() });
  } catch (error) {
    return { name: 'client credentials', ok: false, detail: `${metadata.tokenEndpoint}: ${reason(error)}`, fix: 'the provider\'s token endpoint must be reachable from this machine' };
  }
  const error = field(answer.json, 'error');
  const method = choice.method;
  if (error === 'invalid_grant') return { name: 'client credentials', ok: true, detail: `accepted with ${method} (a made-up code got invalid_grant)` };
  const said = `${metadata.tokenEndpoint} answered HTTP ${answer.status}${typeof error === 'string' ? ` ${error}` : ''}`;
  if (error === 'invalid_client' || answer.status === 401) {
    const what = method === 'private_key_jwt' ? 'OIDC_CLIENT_ID and the public key registered for OIDC_CLIENT_KEY_FILE' : 'OIDC_CLIENT_ID and OIDC_CLIENT_SECRET';
    return { name: 'client credentials', ok: false, detail: `${said}: the provider refused the client's credentials (${method})`,
      fix: `check ${what} against the client registered at the provider (a secret with + / = needs OIDC_TOKEN_ENDPOINT_AUTH_METHOD=client_secret_post at some providers)` };
  }
  if (error === 'unauthorized_client') {
    return { name: 'client credentials', ok: false, detail: said, fix: `allow the authorization_code grant for client ${config.oidc.clientId} at the provider` };
  }
  return { name: 'client credentials', ok: false, detail: `${said}; expected invalid_grant`, fix: 'unexpected answer: check the client\'s registration at the provider (grant types, redirect URI, PKCE)' };
}

/** The machine's clock against the provider's Date header (ID token iat/exp and Hivekit exp depend on it). */
export function checkClock(answer: Answer): CheckResult {
  const date = answer.headers.get('date');
  const providerMs = date ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(providerMs)) return { name: 'clock', ok: true, detail: 'the provider sent no Date header: not compared' };
  // The Date header is truncated to the second: compare with the middle of the call, allowing that second.
  const skew = Math.abs((answer.sentAt + answer.receivedAt) / 2 - providerMs - 500) / 1000;
  if (skew > MAX_CLOCK_SKEW_SECONDS) {
    return { name: 'clock', ok: false, detail: `${skew.toFixed(1)} s away from the provider's clock (Date: ${date})`,
      fix: 'synchronise this machine\'s clock (NTP, e.g. timedatectl set-ntp true): ID tokens and Hivekit tokens carry times' };
  }
  return { name: 'clock', ok: true, detail: `within ${Math.max(skew, 0).toFixed(1)} s of the provider's` };
}
