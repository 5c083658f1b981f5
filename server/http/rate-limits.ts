import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type IncrementResponse, type Store } from 'express-rate-limit';
import { AppError } from '../errors/app-error.ts';
import { createWindowCounter, type WindowCounter } from './window-counter.ts';
import type { RedisConnection } from '../sessions/redis-client.ts';
import type { SessionReadLimit } from '../sessions/session-reader.ts';
import { createRedisWindowCounter, type SharedWindowCounter } from './redis-window-counter.ts';

export interface RateLimitSettings {
  loginPerMinute: number;
  tokenPerMinute: number;
  /** Milliseconds since the epoch; both limits count their windows by it. */
  now?: () => number;
  /** Several instances: count in this Redis (under `${keyPrefix}rl:`), so the limits hold for all of them together. */
  shared?: { redis: RedisConnection; keyPrefix: string };
}

// The settings are per minute (RATE_LIMIT_*_PER_MINUTE).
const WINDOW_MS = 60_000;

/** The client address as Express sees it through `trust proxy`; IPv6 grouped by /56 so one host cannot rotate addresses. */
function clientAddressKey(req: Request): string {
  return `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
}

function rateLimited(req: Request, resetAt: number, now: () => number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil((resetAt - now()) / 1000));
  return new AppError('rate_limited', { detail: `rate limit on ${req.path}`, headers: { 'Retry-After': String(retryAfterSeconds) } });
}

/**
 * express-rate-limit's Store over our window counter: the library's MemoryStore reads Date.now()
 * and takes no clock. (The library still computes its RateLimit header's reset seconds from
 * Date.now(); Retry-After, which clients act on, comes from this clock.)
 */
class WindowCounterStore implements Store {
  readonly localKeys = true;
  constructor(private readonly counter: WindowCounter) {}
  increment(key: string): IncrementResponse {
    const { hits, resetAt } = this.counter.count(key);
    return { totalHits: hits, resetTime: new Date(resetAt) };
  }
  decrement(key: string): void {
    this.counter.uncount(key);
  }
  resetKey(key: string): void {
    this.counter.forget(key);
  }
}

/**
 * The only import of express-rate-limit, which limits logins (start and callback together) per
 * client address. The token route is limited per signed-in session, and per address for requests
 * without one. Counters live in memory for one instance, in Redis (`shared`) for several.
 */
export function createRateLimits(settings: RateLimitSettings): {
  login: RequestHandler;
  token: RequestHandler;
  /** Shared limits only: the token limit of signed-in sessions, counted by the store as it reads the session (session-reader.ts). */
  tokenSessions?: SessionReadLimit;
} {
  const now = settings.now ?? Date.now;
  // The one error handler answers every 429, with its Retry-After.
  const refuse = (req: Request, _res: unknown, next: (error: unknown) => void) => {
    const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
    next(rateLimited(req, resetTime?.getTime() ?? now() + WINDOW_MS, now));
  };
  const shared = settings.shared;
  return {
    login: rateLimit({
      windowMs: WINDOW_MS, legacyHeaders: false, handler: refuse, standardHeaders: 'draft-8', limit: settings.loginPerMinute, keyGenerator: clientAddressKey, identifier: 'login',
      store: shared
        ? new RedisCounterStore(createRedisWindowCounter(shared.redis, `${shared.keyPrefix}rl:login:`, WINDOW_MS, now), shared.redis, `${shared.keyPrefix}rl:login:`)
        : new WindowCounterStore(createWindowCounter(WINDOW_MS, now)),
    }),
    token: shared
      ? limitTokensWithoutSession(settings.tokenPerMinute, createRedisWindowCounter(shared.redis, `${shared.keyPrefix}rl:token:`, WINDOW_MS, now), now)
      : limitTokensPerSession(settings.tokenPerMinute, createWindowCounter(WINDOW_MS, now), now),
    ...(shared ? {
      tokenSessions: {
        // The key limitTokensWithoutSession's counter would use: one counter per session whichever step counts.
        keyOf: (sid: string) => `${shared.keyPrefix}rl:token:session:${sid}`,
        windowMs: WINDOW_MS,
        max: settings.tokenPerMinute,
        refuse: (req: Request, msLeft: number) => rateLimited(req, now() + msLeft, now),
      },
    } : {}),
  };
}

/** A shared store that cannot count refuses with 503: express-rate-limit would otherwise answer 500. */
/**
 * express-rate-limit's Store over the same atomic Redis counter as the token limit. (rate-limit-redis
 * 6.0.1 loads its scripts once at start and keeps that promise: with Redis down at start it is a
 * rejection reused forever, and the login limit never recovers.) A count that fails is a 503.
 */
class RedisCounterStore implements Store {
  constructor(private readonly count: SharedWindowCounter, private readonly redis: RedisConnection, readonly prefix: string) {}
  async increment(key: string): Promise<IncrementResponse> {
    const { hits, resetAt } = await this.count(key);
    return { totalHits: hits, resetTime: new Date(resetAt) };
  }
  async decrement(key: string): Promise<void> {
    await this.redis.run((client) => client.decr(`${this.prefix}${key}`)).catch(() => undefined);
  }
  async resetKey(key: string): Promise<void> {
    await this.redis.run((client) => client.del(`${this.prefix}${key}`)).catch(() => undefined);
  }
}

/**
 * The token limit counted in Redis, one limit for N instances: here for requests without a session
 * (per client address); a signed-in session's requests are counted in the trip that reads the
 * session (`tokenSessions`), so a token costs one round trip, not two.
 */
function limitTokensWithoutSession(limit: number, count: SharedWindowCounter, now: () => number): RequestHandler {
  return function limitTokens(req, _res, next) {
    if (req.sessionID !== undefined) return next();
    return count(clientAddressKey(req)).then(
      ({ hits, resetAt }) => next(hits > limit ? rateLimited(req, resetAt, now) : undefined),
      next,
    );
  };
}

/**
 * The token route counts with a synchronous counter of its own (window-counter.ts explains why the
 * library's store cannot be used here) in a middleware of one step; the library's middleware also
 * awaited five times per request on the hottest route. A token client needs no RateLimit headers,
 * only Retry-After on the 429 itself.
 */
function limitTokensPerSession(limit: number, counter: WindowCounter, now: () => number): RequestHandler {
  const { count } = counter;
  return function limitTokens(req, _res, next) {
    // Runs before the session is read, once its cookie's signature is checked: a session is its own
    // bucket (users behind one NAT don't share), and a refused request costs no store read.
    const { hits, resetAt } = count(req.sessionID ? `session:${req.sessionID}` : clientAddressKey(req));
    next(hits > limit ? rateLimited(req, resetAt, now) : undefined);
  };
}
