import type { RequestHandler } from 'express';
import type session from 'express-session';
import { parse as parseCookies } from 'cookie';
import { unsign } from 'cookie-signature';
import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logging/logger.ts';
import { BoundedMap } from '../util/bounded-map.ts';

/**
 * The token route's read-only view of a session. express-session rebuilds a Session object per
 * request, hashes it twice to detect changes and wraps res.end, which is most of the cost of a
 * token request that never changes its session. This reads the same signed cookie, loads the row
 * through the same store, and lets the store's touch extend the idle lifetime (it writes at most
 * once per interval). Anything that changes a session (login, logout) still goes through
 * express-session.
 */
export function createSessionReader(options: { store: session.Store; secrets: readonly string[]; cookieName: string; logger: Logger }): RequestHandler {
  const verify = createCookieVerifier(options.secrets);
  return function readSession(req, _res, next) {
    const sid = sessionIdFromCookie(req.headers.cookie, options.cookieName, verify);
    if (sid === undefined) return next();
    options.store.get(sid, (error: unknown, data?: session.SessionData | null) => {
      if (error) return next(error instanceof AppError ? error : new AppError('session_store_unavailable', { cause: error }));
      if (!data) return next();
      Object.assign(req, { sessionID: sid, session: data });
      options.store.touch!(sid, data, (touchError?: unknown) => {
        // A failed extension only means the session may end a little early: the token is still due.
        if (touchError) options.logger.warn('session_touch_failed', { error: describeError(touchError) });
        next();
      });
    });
  };
}

function describeError(error: unknown): string {
  return error instanceof AppError ? error.detail ?? error.code : error instanceof Error ? error.message : String(error);
}

// About 150 bytes each: under 2 MB at the bound.
const MAX_REMEMBERED_COOKIES = 10_000;

/**
 * express-session's cookie format: `s:` + id + `.` + HMAC-SHA256 signature (cookie-signature); every
 * secret of a rotation list verifies, as express-session does. A value that verified once always
 * will (the secrets are fixed for the process), so verified values are remembered: an HMAC per token
 * request otherwise. Only values signed by us get in, so a stream of forged cookies cannot fill it.
 */
export function createCookieVerifier(secrets: readonly string[], maxRemembered = MAX_REMEMBERED_COOKIES): (value: string) => string | undefined {
  const verified = new BoundedMap<string, string>(maxRemembered);
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
