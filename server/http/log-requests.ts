import type { RequestHandler } from 'express';
import type { Logger } from '../logging/logger.ts';

/**
 * One line per request. The path only: query strings carry codes, states and return URLs. A
 * handler may add fields through `res.locals.logFields` (the token route records its mint there).
 */
export function logRequests(logger: Logger, now: () => number = performance.now.bind(performance)): RequestHandler {
  return function logRequest(req, res, next) {
    const started = now();
    res.on('finish', () => {
      // A page load fetches several static files; their successes say nothing an operator needs.
      if (res.locals.staticFile === true && res.statusCode < 400) return;
      logger.info('request', {
        method: req.method,
        path: req.path.slice(0, 200),
        status: res.statusCode,
        durationMs: Math.round((now() - started) * 10) / 10,
        ...(res.locals.logFields as Record<string, unknown> | undefined),
      });
    });
    next();
  };
}
