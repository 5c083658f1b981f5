import { randomBytes } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../logging/logger.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * Request ids unique across instances and restarts: a random prefix per process and a counter,
 * so the token route pays no random bytes per request.
 */
export function createRequestIds(): () => string {
  const prefix = randomBytes(6).toString('base64url');
  let count = 0;
  return () => `${prefix}-${(count += 1).toString(36)}`;
}

/**
 * One line per request, with the request's id (also sent back as X-Request-Id) and the client's
 * address as TRUST_PROXY resolves it. The path only: query strings carry codes, states and return
 * URLs. A handler may add fields through `res.locals.logFields` (the token route records its mint
 * there).
 */
export function logRequests(logger: Logger, now: () => number = performance.now.bind(performance), nextId = createRequestIds()): RequestHandler {
  return function logRequest(req, res, next) {
    const started = now();
    const reqId = nextId();
    res.locals.requestId = reqId;
    res.setHeader(REQUEST_ID_HEADER, reqId);
    res.on('finish', () => {
      // A page load fetches several static files; their successes say nothing an operator needs.
      if (res.locals.staticFile === true && res.statusCode < 400) return;
      logger.info('request', {
        reqId,
        method: req.method,
        path: req.path.slice(0, 200),
        status: res.statusCode,
        durationMs: Math.round((now() - started) * 10) / 10,
        client: req.ip,
        ...(res.locals.logFields as Record<string, unknown> | undefined),
      });
    });
    next();
  };
}

/** The logger for lines about one request: each carries its id (made on first use; the token route needs none). */
export function requestLogger(res: Response, logger: Logger): Logger {
  const requestId = res.locals.requestId as string | undefined;
  if (requestId === undefined) return logger;
  return (res.locals.logger as Logger | undefined) ?? (res.locals.logger = logger.child({ reqId: requestId }));
}
