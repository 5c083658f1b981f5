export interface SessionLifetimes {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
}

/** Kept inside the session record so `touch` knows the stored expiry without reading the row again. */
export const STORED_EXPIRY_KEY = 'storedExpiresAt';
/** Set at login; the absolute lifetime counts from it. */
export const CREATED_AT_KEY = 'createdAt';
// A session without a user only holds logins in progress, which expire after 10 minutes
// (pending-logins.ts). The row outlives them by 5 minutes so a late callback is told "expired",
// not "started in another browser".
export const PENDING_LOGIN_LIFETIME_MS = 15 * 60 * 1000;

/** When a session ends if it is written now: idle window from now, capped by the absolute lifetime. */
export function computeSessionExpiry(data: Record<string, unknown>, now: number, lifetimes: SessionLifetimes): number {
  const createdAt = typeof data[CREATED_AT_KEY] === 'number' ? (data[CREATED_AT_KEY] as number) : undefined;
  if (createdAt === undefined) return now + PENDING_LOGIN_LIFETIME_MS;
  return Math.min(now + lifetimes.idleTimeoutSeconds * 1000, createdAt + lifetimes.absoluteTimeoutSeconds * 1000);
}

/**
 * Touch at most once per interval: a tenth of the idle timeout, at most five minutes. An idle
 * session therefore ends at most one interval early, never late.
 */
export function touchIntervalMs(lifetimes: SessionLifetimes): number {
  return Math.min(lifetimes.idleTimeoutSeconds * 100, 5 * 60 * 1000);
}

export function shouldExtendExpiry(data: Record<string, unknown>, newExpiry: number, lifetimes: SessionLifetimes): boolean {
  const stored = data[STORED_EXPIRY_KEY];
  if (typeof stored !== 'number') return true;
  return newExpiry - stored >= touchIntervalMs(lifetimes);
}
