import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
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

function refuse(req: Request, _res: unknown, next: (error: unknown) => void): void {
  // Set here rather than by the library's headers, which the token route does without (see below).
  const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
  const retryAfterSeconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + MINUTE_MS) - Date.now()) / 1000));
  next(new AppError('rate_limited', { detail: `rate limit on ${req.path}`, headers: { 'Retry-After': String(retryAfterSeconds) } }));
}

/**
 * The only import of express-rate-limit. Logins (start and callback together) are limited per client
 * address; the token route per signed-in session, and per address for requests without one. Counters
 * live in memory, so with several instances each enforces its own share.
 */
export function createRateLimits(settings: RateLimitSettings): { login: RequestHandler; token: RequestHandler } {
  const common = { windowMs: settings.windowMs ?? MINUTE_MS, legacyHeaders: false, handler: refuse };
  return {
    login: rateLimit({ ...common, standardHeaders: 'draft-8', limit: settings.loginPerMinute, keyGenerator: clientAddressKey, identifier: 'login' }),
    token: rateLimit({
      ...common,
      // No RateLimit headers on the hottest route: formatting them (and draft-8's SHA-256 partition key)
      // was measurable, and a token client only needs Retry-After on the 429 itself.
      standardHeaders: false,
      limit: settings.tokenPerMinute,
      identifier: 'token',
      // Runs after the session middleware: a signed-in session is its own bucket, so users behind one NAT don't share.
      keyGenerator: (req) => (readSessionUser(req) ? `session:${req.sessionID}` : clientAddressKey(req)),
    }),
  };
}
