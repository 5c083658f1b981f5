import { AppError } from '../errors/app-error.ts';
import type { IdTokenVerifier } from './id-token-verifier.ts';
import { fetchUserinfo } from './provider-calls.ts';
import type { ProviderHttpOptions } from './provider-http.ts';
import type { ProviderMetadata } from './provider-metadata.ts';
import { userClaimsOf } from './session-user.ts';

/** A user's claims as the provider vouches for them now: what login and each re-validation store. */
export interface ProviderClaims {
  sub: string;
  name?: string;
  email?: string;
  /** For the permissions policy (protocol claims removed). */
  claims: Record<string, unknown>;
  /** Names in `claims` that came from userinfo rather than the ID token. */
  userinfoClaims: string[];
  /** The provider's session id (the ID token's `sid`, OIDC Back-Channel Logout §2.4). */
  providerSid?: string;
}

/**
 * The ID token verified (signature, issuer, audience, age) and completed with userinfo, whose
 * subject must be the ID token's (OIDC Core §5.3.2). On re-validation `expectedSub` must not change:
 * a provider answering for another user must never turn this session into theirs.
 */
export async function claimsFromIdToken(input: {
  verifier: IdTokenVerifier; metadata: ProviderMetadata; idToken: string; accessToken: string | undefined;
  http?: ProviderHttpOptions; expectedSub?: string;
}): Promise<ProviderClaims> {
  const claims: Record<string, unknown> = { ...(await input.verifier.verify(input.idToken, input.metadata)) };
  // OIDC Core §2: sub is a string of at most 255 ASCII characters; anything else could merge two users.
  if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255) {
    throw new AppError('provider_error', { detail: 'id token: sub is not a string of 1..255 characters' });
  }
  if (input.expectedSub !== undefined && claims.sub !== input.expectedSub) {
    throw new AppError('provider_error', { detail: 'id token: sub differs from the session\'s' });
  }
  const userinfoClaims: string[] = [];
  if (input.metadata.userinfoEndpoint && input.accessToken) {
    const userinfo = await fetchUserinfo(input.metadata.userinfoEndpoint, input.accessToken, input.http);
    if (userinfo.sub !== claims.sub) throw new AppError('provider_error', { detail: 'userinfo: sub differs from the ID token' });
    for (const [name, value] of Object.entries(userinfo)) {
      if (Object.hasOwn(claims, name)) continue;
      Object.defineProperty(claims, name, { value, enumerable: true, writable: true, configurable: true });
      userinfoClaims.push(name);
    }
  }
  return toProviderClaims(claims, userinfoClaims);
}

/**
 * Claims re-read through userinfo alone (no new ID token): userinfo's answer replaces the claims
 * that came from userinfo before, and the ID token's own claims are kept as they were at login.
 */
export function claimsFromUserinfo(previous: { claims: Record<string, unknown>; userinfoClaims?: string[]; sub: string; providerSid?: string }, userinfo: Record<string, unknown>): ProviderClaims {
  if (userinfo.sub !== previous.sub) throw new AppError('provider_error', { detail: 'userinfo: sub differs from the session\'s' });
  const fromUserinfo = new Set(previous.userinfoClaims ?? []);
  const claims: Record<string, unknown> = Object.fromEntries(Object.entries(previous.claims).filter(([name]) => !fromUserinfo.has(name)));
  const userinfoClaims: string[] = [];
  for (const [name, value] of Object.entries(userinfo)) {
    if (Object.hasOwn(claims, name)) continue;
    Object.defineProperty(claims, name, { value, enumerable: true, writable: true, configurable: true });
    userinfoClaims.push(name);
  }
  return { ...toProviderClaims({ ...claims, sub: previous.sub }, userinfoClaims), ...(previous.providerSid ? { providerSid: previous.providerSid } : {}) };
}

function toProviderClaims(claims: Record<string, unknown>, userinfoClaims: string[]): ProviderClaims {
  let userClaims: Record<string, unknown>;
  try {
    userClaims = userClaimsOf(claims);
  } catch (error) {
    throw new AppError('provider_error', { detail: (error as Error).message });
  }
  return {
    sub: claims.sub as string,
    name: typeof claims.name === 'string' ? claims.name : undefined,
    email: typeof claims.email === 'string' ? claims.email : undefined,
    claims: userClaims,
    userinfoClaims: userinfoClaims.filter((name) => Object.hasOwn(userClaims, name)),
    ...(typeof claims.sid === 'string' && claims.sid.length > 0 && claims.sid.length <= 255 ? { providerSid: claims.sid } : {}),
  };
}
