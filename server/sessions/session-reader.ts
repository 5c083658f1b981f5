import type { NextFunction, Request, RequestHandler } from 'express';
import { readSessionUser } from '../auth/session-user.ts';
import type { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logging/logger.ts';
import type { SessionCookie } from './session-cookie.ts';
import type { SessionRecord } from './session-record.ts';
import type { SessionRepository } from './session-repository.ts';

/**
 * The token limit of a signed-in session, counted by the store in the trip that reads the session
 * (Redis: http/rate-limits.ts hands it over when the limits are shared): one trip per token, not two.
 */
export interface SessionReadLimit {
  keyOf(sid: string): string;
  windowMs: number;
  max: number;
  refuse(req: Request, msLeft: number): AppError;
}

/**
 * The token route's read-only view of a session, in two steps so the rate limiter can run between
 * them: `identifySession` checks the cookie's signature (no I/O) and sets `req.sessionID`;
 * `readSession` loads the row through the same store and lets the store's touch extend a signed-in
 * session's idle lifetime (at most one write per interval). express-session rebuilds a Session
 * object per request, hashes it twice to detect changes and wraps res.end, which is most of the
 * cost of a token request that never changes its session. Anything that changes a session (login,
 * logout) still goes through express-session. With shared limits (`limit`), `readSession` also
 * counts the session's token limit, in the store's trip that reads it.
 */
export function createSessionReader(options: { sessions: SessionRepository; cookie: SessionCookie; logger: Logger; limit?: SessionReadLimit }): {
  identifySession: RequestHandler;
  readSession: RequestHandler;
} {
  const { limit, sessions } = options;
  const readWithin = limit && sessions.readSharedWithin;
  if (limit && !readWithin) throw new Error(`the ${sessions.name} session store cannot count a limit with its reads`);

  const useRecord = (req: Request, sid: string, record: Readonly<SessionRecord> | undefined, next: NextFunction) => {
    if (!record) return next();
    // The same object for every request of the session until its row changes: nothing here changes it.
    (req as { session?: unknown }).session = record;
    // Only a signed-in session is extended (the repository decides when it is due); a pre-login one ends on its own.
    if (!readSessionUser(req)) return next();
    return sessions.touchIfDue(sid, record, (touchError) => {
      // A failed extension only means the session may end a little early: the token is still due.
      if (touchError) options.logger.warn('session_touch_failed', { error: touchError.detail ?? touchError.code });
      next();
    });
  };

  return {
    identifySession: function identifySession(req, _res, next) {
      const sid = options.cookie.sessionIdOf(req.headers.cookie);
      if (sid !== undefined) req.sessionID = sid;
      next();
    },
    readSession: function readSession(req, _res, next) {
      const sid = req.sessionID;
      if (sid === undefined) return next();
      if (limit && readWithin) {
        return readWithin(sid, { key: limit.keyOf(sid), windowMs: limit.windowMs, max: limit.max }, (error, count, record) => {
          if (error) return next(error);
          if (count && count.hits > limit.max) return next(limit.refuse(req, count.msLeft));
          return useRecord(req, sid, record, next);
        });
      }
      return sessions.readShared(sid, (error, record) => (error ? next(error) : useRecord(req, sid, record, next)));
    },
  };
}
