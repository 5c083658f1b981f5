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
  next(new AppError('rate_limited', { detail: `rate limit on ${req.path}` }));
}

/**
 * The only import of express-rate-limit. Logins (start and callback together) are limited per client
 * address; the token route per signed-in session, and per address for requests without one. Counters
 * live in memory, so with several instances each enforces its own share.
 */
export function createRateLimits(settings: RateLimitSettings): { login: RequestHandler; token: RequestHandler } {
  // draft-7 headers: draft-8's partition key costs a SHA-256 per request, on the hottest route.
  const common = { windowMs: settings.windowMs ?? MINUTE_MS, standardHeaders: 'draft-7' as const, legacyHeaders: false, handler: refuse };
  return {
    login: rateLimit({ ...common, limit: settings.loginPerMinute, keyGenerator: clientAddressKey, identifier: 'login' }),
    token: rateLimit({
      ...common,
      limit: settings.tokenPerMinute,
      identifier: 'token',
      // Runs after the session middleware: a signed-in session is its own bucket, so users behind one NAT don't share.
      keyGenerator: (req) => (readSessionUser(req) ? `session:${req.sessionID}` : clientAddressKey(req)),
    }),
  };
}
