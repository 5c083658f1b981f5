import type { RequestHandler } from 'express';

/**
 * Handlers run one after the other as one router layer: what `app.use(a, b, c)` does, without the
 * router's matching and bookkeeping between them, which every request would pay once per layer.
 * As in Express, `next(error)` skips the rest, and a handler that throws or rejects passes its error on.
 */
export function series(handlers: readonly RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0]!;
  return function runInSeries(req, res, done) {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error || index === handlers.length) return done(error);
      const handler = handlers[index]!;
      index += 1;
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise) result.catch((rejection: unknown) => done(rejection ?? new Error('a handler rejected without a reason')));
      } catch (thrown) {
        done(thrown);
      }
    };
    next();
  };
}
