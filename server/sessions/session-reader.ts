import type { RequestHandler } from 'express';
import { parse as parseCookies } from 'cookie';
import { unsign } from 'cookie-signature';
import { readSessionUser } from '../auth/session-user.ts';
import type { Logger } from '../logging/logger.ts';
import { BoundedMap } from '../util/bounded-map.ts';
import type { SessionRepository } from './session-repository.ts';

/**
 * The token route's read-only view of a session, in two steps so the rate limiter can run between
 * them: `identifySession` checks the cookie's signature (no I/O) and sets `req.sessionID`;
 * `readSession` loads the row through the same store and lets the store's touch extend a signed-in
 * session's idle lifetime (at most one write per interval). express-session rebuilds a Session
 * object per request, hashes it twice to detect changes and wraps res.end, which is most of the
 * cost of a token request that never changes its session. Anything that changes a session (login,
 * logout) still goes through express-session.
 */
export function createSessionReader(options: { sessions: SessionRepository; secrets: readonly string[]; cookieName: string; logger: Logger }): {
  identifySession: RequestHandler;
  readSession: RequestHandler;
} {
  const verify = createCookieVerifier(options.secrets);
  return {
    identifySession: function identifySession(req, _res, next) {
      const sid = sessionIdFromCookie(req.headers.cookie, options.cookieName, verify);
      if (sid !== undefined) req.sessionID = sid;
      next();
    },
    readSession: function readSession(req, _res, next) {
      const sid = req.sessionID;
      if (sid === undefined) return next();
      options.sessions.read(sid, (error, record) => {
        if (error) return next(error);
        if (!record) return next();
        Object.assign(req, { session: record });
        // Only a signed-in session is extended (the repository decides when it is due); a pre-login one ends on its own.
        if (!readSessionUser(req)) return next();
        options.sessions.touchIfDue(sid, record, (touchError) => {
          // A failed extension only means the session may end a little early: the token is still due.
          if (touchError) options.logger.warn('session_touch_failed', { error: touchError.detail ?? touchError.code });
          next();
        });
      });
    },
  };
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
