import { OAuthError, INVALID_SUBJECT_TOKEN } from './oauth-error.ts';

/** Who an exchanged token is for, and the claims the permissions policy sees. */
export interface Subject {
  /** The subject token's `sub`: a user, or for a client-credentials token the client's identifier (RFC 9068 §2.2). */
  readonly sub: string;
  /** `client_id` (RFC 9068, RFC 7662), else `azp` (Auth0, Keycloak); undefined when the token names none. */
  readonly clientId: string | undefined;
  /** 'client' when no end user is involved: `sub` is the client (RFC 9068 §2.2) or Auth0's `gty` says so. */
  readonly kind: 'user' | 'client';
  readonly claims: Record<string, unknown>;
}

// Claims about the token itself, not its subject: useless to a policy (session-user.ts keeps the same
// out of a session). client_id, azp and scope stay: rules for machine clients match on them.
const PROTOCOL_CLAIMS = new Set([
  'iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'at_hash', 'c_hash', 's_hash', 'sid', 'auth_time', 'acr', 'amr',
  'cnf', 'active', 'token_type', 'authorization_details',
]);
const MAX_CLAIMS_JSON_BYTES = 16 * 1024;

/**
 * The subject of a verified access token (a JWT's payload or an introspection answer). Every
 * value stays data: the policy reads claims only through its conditions and percent-encoding
 * templates. `scope` reaches the policy as an array (RFC 8693 §4.2 and RFC 9068 send one
 * space-separated string; Okta's `scp` is an array, Entra's a string) so a rule can say
 * `{"claim": "scope", "includes": "hivekit:read"}`.
 */
export function subjectOf(payload: Record<string, unknown>): Subject {
  const clientId = firstString(payload.client_id, payload.azp);
  // RFC 7662 answers for a client-credentials token may leave sub out; the client is the subject then.
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : clientId;
  if (sub === undefined) throw new OAuthError('invalid_grant', INVALID_SUBJECT_TOKEN, 'subject token names no sub and no client');
  const claims: Record<string, unknown> = Object.fromEntries(Object.entries(payload).filter(([name]) => !PROTOCOL_CLAIMS.has(name)));
  claims.sub = sub;
  if (clientId !== undefined) claims.client_id = clientId;
  const scopes = scopesOf(payload.scope ?? payload.scp);
  if (scopes !== undefined) claims.scope = scopes;
  else delete claims.scope;
  if (JSON.stringify(claims).length > MAX_CLAIMS_JSON_BYTES) {
    throw new OAuthError('invalid_grant', INVALID_SUBJECT_TOKEN, `subject token claims exceed ${MAX_CLAIMS_JSON_BYTES} bytes`);
  }
  const kind = sub === clientId || payload.gty === 'client-credentials' ? 'client' : 'user';
  return { sub, clientId, kind, claims };
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

function scopesOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(' ').filter((scope) => scope !== '');
  if (Array.isArray(value)) return value.filter((scope): scope is string => typeof scope === 'string');
  return undefined;
}
