import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from '../errors/app-error.ts';
import { createWindowCounter } from './window-counter.ts';

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
  next(rateLimited(req, resetTime?.getTime()));
}

function rateLimited(req: Request, resetAt: number | undefined): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(((resetAt ?? Date.now() + MINUTE_MS) - Date.now()) / 1000));
  return new AppError('rate_limited', { detail: `rate limit on ${req.path}`, headers: { 'Retry-After': String(retryAfterSeconds) } });
}

/**
 * The only import of express-rate-limit, which limits logins (start and callback together) per
 * client address. The token route is limited per signed-in session, and per address for requests
 * without one. Counters live in memory, so with several instances each enforces its own share.
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
 * The token route counts with a synchronous counter of its own (window-counter.ts explains why the
 * library's store cannot be used here) in a middleware of one step; the library's middleware also
 * awaited five times per request on the hottest route. A token client needs no RateLimit headers,
 * only Retry-After on the 429 itself.
 */
function limitTokensPerSession(limit: number, windowMs: number): RequestHandler {
  const count = createWindowCounter(windowMs);
  return function limitTokens(req, _res, next) {
    // Runs before the session is read, once its cookie's signature is checked: a session is its own
    // bucket (users behind one NAT don't share), and a refused request costs no store read.
    const { hits, resetAt } = count(req.sessionID ? `session:${req.sessionID}` : clientAddressKey(req));
    next(hits > limit ? rateLimited(req, resetAt) : undefined);
  };
}
