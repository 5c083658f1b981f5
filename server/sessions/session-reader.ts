import type { RequestHandler } from 'express';
import { readSessionUser } from '../auth/session-user.ts';
import type { Logger } from '../logging/logger.ts';
import type { SessionCookie } from './session-cookie.ts';
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
export function createSessionReader(options: { sessions: SessionRepository; cookie: SessionCookie; logger: Logger }): {
  identifySession: RequestHandler;
  readSession: RequestHandler;
} {
  return {
    identifySession: function identifySession(req, _res, next) {
      const sid = options.cookie.sessionIdOf(req.headers.cookie);
      if (sid !== undefined) req.sessionID = sid;
      next();
    },
    readSession: function readSession(req, _res, next) {
      const sid = req.sessionID;
      if (sid === undefined) return next();
      options.sessions.readShared(sid, (error, record) => {
        if (error) return next(error);
        if (!record) return next();
        // The same object for every request of the session until its row changes: nothing here changes it.
        (req as { session?: unknown }).session = record;
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
