import type { Request } from 'express';

/** What a signed-in session keeps: enough to mint tokens, re-validate its claims and log out. */
export interface SessionUser {
  sub: string;
  name?: string;
  email?: string;
  /** The provider's claims the permissions policy may use (protocol claims removed). */
  claims: Record<string, unknown>;
  /** Kept for RP-initiated logout's id_token_hint; never sent to the browser. */
  idToken: string;
  loginAt: number;
  /** When the provider last vouched for `claims` (login or re-validation), ms; loginAt when absent. */
  claimsCheckedAt?: number;
  /** Names in `claims` that came from userinfo (provider-claims.ts). */
  userinfoClaims?: string[];
  /** The provider's session id (the ID token's `sid`), which back-channel logout names. */
  providerSid?: string;
  /** The provider's tokens for re-validating the claims, sealed (sessions/seal.ts); never logged or sent. */
  grant?: ProviderGrant;
}

export interface ProviderGrant {
  refreshToken?: string;
  accessToken?: string;
  /** When the access token expires, ms. */
  accessTokenExpiresAt?: number;
}

// Claims about the token itself, not the user: useless to a policy and noisy in the session.
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'sid', 'jti', 'auth_time', 'acr', 'amr']);
const MAX_CLAIMS_JSON_BYTES = 16 * 1024;

export function userClaimsOf(claims: Record<string, unknown>): Record<string, unknown> {
  // fromEntries defines own properties, so a claim named __proto__ stays data.
  const kept = Object.fromEntries(Object.entries(claims).filter(([name]) => !PROTOCOL_CLAIMS.has(name)));
  if (JSON.stringify(kept).length > MAX_CLAIMS_JSON_BYTES) {
    throw new RangeError(`the provider's claims exceed ${MAX_CLAIMS_JSON_BYTES} bytes`);
  }
  return kept;
}

/** The hot path reads the user straight from the session passport wrote, without a deserialize step. */
export function readSessionUser(req: Request): SessionUser | undefined {
  const passport = (req.session as unknown as { passport?: { user?: unknown } } | undefined)?.passport;
  const user = passport?.user as SessionUser | undefined;
  return user && typeof user.sub === 'string' ? user : undefined;
}

export function publicProfileOf(user: SessionUser): { sub: string; name?: string; email?: string } {
  return { sub: user.sub, name: user.name, email: user.email };
}
