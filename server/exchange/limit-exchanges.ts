import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { AppError } from '../errors/app-error.ts';
import { createRedisWindowCounter } from '../http/redis-window-counter.ts';
import { createWindowCounter, type WindowCount } from '../http/window-counter.ts';
import type { RedisConnection } from '../sessions/redis-client.ts';

export interface ExchangeLimitSettings {
  perMinute: number;
  now: () => number;
  /** Several instances: the per-subject count lives in this Redis (under `${keyPrefix}rl:exchange:`). */
  shared?: { redis: RedisConnection; keyPrefix: string };
}

// The settings are per minute (RATE_LIMIT_*_PER_MINUTE).
const WINDOW_MS = 60_000;

/**
 * Two limits on POST /token (the window-counter patterns of http/rate-limits.ts):
 * - per subject, after its token is verified: one user or machine client cannot mint without end,
 *   whichever address or access token it uses; counted in Redis when instances share one;
 * - per client address, failed subject tokens only (in memory, per instance): guessing tokens, or
 *   making us call the provider's introspection endpoint for garbage, stops at the same number.
 */
export function createExchangeLimits(settings: ExchangeLimitSettings) {
  const { now, perMinute } = settings;
  const count: (key: string) => Promise<WindowCount> | WindowCount = settings.shared
    ? createRedisWindowCounter(settings.shared.redis, `${settings.shared.keyPrefix}rl:exchange:`, WINDOW_MS, now)
    : createWindowCounter(WINDOW_MS, now).count;
  const failures = createWindowCounter(WINDOW_MS, now);
  const refusal = (resetAt: number, what: string) => new AppError('rate_limited', {
    detail: `token exchange limit per ${what}`,
    headers: { 'Retry-After': String(Math.max(1, Math.ceil((resetAt - now()) / 1000))) },
  });
  const addressKey = (req: Request) => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;

  return {
    /** Refuses an address that already sent `perMinute` bad subject tokens in its window. */
    checkAddress(req: Request): void {
      // Counting and taking back reads the count without adding to it.
      const probe = failures.count(addressKey(req));
      failures.uncount(addressKey(req));
      if (probe.hits > perMinute) throw refusal(probe.resetAt, 'address');
    },
    recordFailure(req: Request): void {
      failures.count(addressKey(req));
    },
    async countSubject(sub: string): Promise<void> {
      // Hashed: a sub is up to 255 characters of anything, a key should be short and plain.
      const { hits, resetAt } = await count(`sub:${createHash('sha256').update(sub).digest('base64url').slice(0, 27)}`);
      if (hits > perMinute) throw refusal(resetAt, 'subject');
    },
  };
}
