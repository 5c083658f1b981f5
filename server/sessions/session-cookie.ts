import { parse as parseCookies } from 'cookie';
import { unsign } from 'cookie-signature';
import { boundedCache } from '../bounded-cache.ts';

/** The attributes the session cookie is set with, and must be cleared with. */
export interface SessionCookieAttributes {
  path: '/';
  httpOnly: true;
  secure: boolean;
  sameSite: 'lax';
}

/**
 * The session cookie, defined once: express-session sets it with these, the token route reads its
 * signed id with `sessionIdOf`, logout clears it with the same name and attributes.
 */
export interface SessionCookie {
  readonly name: string;
  readonly attributes: SessionCookieAttributes;
  /** The first signs, all verify (SESSION_SECRET's rotation list). */
  readonly secrets: readonly string[];
  /** The browser may keep it for the absolute lifetime; the session store enforces the idle one. */
  readonly maxAgeMs: number;
  /** The session id a Cookie header carries, when its signature verifies with one of the secrets. */
  sessionIdOf(cookieHeader: string | undefined): string | undefined;
}

// About 150 bytes each: under 2 MB at the bound.
const MAX_REMEMBERED_COOKIES = 10_000;

/**
 * `__Host-` pins the cookie to this exact origin over https (no Domain, Path=/, Secure). SameSite
 * Lax still sends it on the provider's top-level redirect back to /oauth2/redirect.
 */
export function createSessionCookie(options: { secure: boolean; secrets: readonly string[]; absoluteTimeoutSeconds: number }): SessionCookie {
  const name = options.secure ? '__Host-hivekit.sid' : 'hivekit.sid';
  const verify = createCookieVerifier(options.secrets);
  return {
    name,
    attributes: { path: '/', httpOnly: true, secure: options.secure, sameSite: 'lax' },
    secrets: [...options.secrets],
    maxAgeMs: options.absoluteTimeoutSeconds * 1000,
    sessionIdOf: (header) => sessionIdFromCookie(header, name, verify),
  };
}

/**
 * express-session's cookie format: `s:` + id + `.` + HMAC-SHA256 signature (cookie-signature); every
 * secret of a rotation list verifies, as express-session does. A value that verified once always
 * will (the secrets are fixed for the process), so verified values are remembered: an HMAC per token
 * request otherwise. Only values signed by us get in, so a stream of forged cookies cannot fill it.
 */
export function createCookieVerifier(secrets: readonly string[], maxRemembered = MAX_REMEMBERED_COOKIES): (value: string) => string | undefined {
  const verified = boundedCache<string, string>(maxRemembered);
  return (value) => {
    const known = verified.get(value);
    if (known !== undefined) return known;
    if (!value.startsWith('s:')) return undefined;
    for (const secret of secrets) {
      const sid = unsign(value.slice(2), secret);
      if (sid !== false) {
        verified.set(value, sid);
        return sid;
      }
    }
    return undefined;
  };
}

export function sessionIdFromCookie(header: string | undefined, cookieName: string, verify: (value: string) => string | undefined): string | undefined {
  if (!header) return undefined;
  let value: string | undefined;
  try {
    value = parseCookies(header)[cookieName];
  } catch {
    return undefined;
  }
  return value === undefined ? undefined : verify(value);
}
