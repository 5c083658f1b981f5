import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import { AppError } from '../errors/app-error.ts';
import { readSessionUser } from '../auth/session-user.ts';

export interface RateLimitSettings {
  loginPerMinute: number;
  tokenPerMinute: number;
  windowMs?: number;
}

const MINUTE_MS = 60_000;

/** The client address as Express sees it through `trust proxy`; IPv6 grouped by /56 so one host cannot rotate addresses. */
function clientAddressKey(req: Request): string {
  return `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
}

/** The login limiter's handler: the one error handler answers every 429, with its Retry-After. */
function refuse(req: Request, _res: unknown, next: (error: unknown) => void): void {
  const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
  next(rateLimited(req, resetTime));
}

function rateLimited(req: Request, resetTime: Date | undefined): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + MINUTE_MS) - Date.now()) / 1000));
  return new AppError('rate_limited', { detail: `rate limit on ${req.path}`, headers: { 'Retry-After': String(retryAfterSeconds) } });
}

/**
 * The only import of express-rate-limit. Logins (start and callback together) are limited per client
 * address; the token route per signed-in session, and per address for requests without one. Counters
 * live in memory, so with several instances each enforces its own share.
 */
export function createRateLimits(settings: RateLimitSettings): { login: RequestHandler; token: RequestHandler } {
  const windowMs = settings.windowMs ?? MINUTE_MS;
  return {
    login: rateLimit({
      windowMs, legacyHeaders: false, handler: refuse, standardHeaders: 'draft-8', limit: settings.loginPerMinute, keyGenerator: clientAddressKey, identifier: 'login',
    }),
    token: limitTokensPerSession(settings.tokenPerMinute, windowMs),
  };
}

/**
 * The token route counts in the library's own store (window and expiry are its business) through a
 * middleware of one step: the library's middleware awaits five times, defines properties and formats
 * headers per request, which the benchmark measured on the hottest route. A token client needs no
 * RateLimit headers, only Retry-After on the 429 itself.
 */
function limitTokensPerSession(limit: number, windowMs: number): RequestHandler {
  const store = new MemoryStore();
  store.init({ windowMs } as Options);
  return function limitTokens(req, _res, next) {
    // Runs after the session reader: a signed-in session is its own bucket, so users behind one NAT don't share.
    const key = readSessionUser(req) ? `session:${req.sessionID}` : clientAddressKey(req);
    store.increment(key).then(
      ({ totalHits, resetTime }) => next(totalHits > limit ? rateLimited(req, resetTime) : undefined),
      next,
    );
  };
}
