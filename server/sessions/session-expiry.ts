import type { SessionRecord } from './session-record.ts';

export interface SessionLifetimes {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
}

// The record's fields (session-record.ts) that the lifetimes are computed from.
export const CREATED_AT_KEY = 'createdAt' satisfies keyof SessionRecord;
export const LAST_ACTIVE_AT_KEY = 'lastActiveAt' satisfies keyof SessionRecord;
export const PENDING_LOGINS_KEY = 'pendingLogins' satisfies keyof SessionRecord;
// Pending logins expire after 10 minutes (pending-logins.ts). A row without a user outlives its
// newest one by 5 minutes, so a late callback is told "expired", not "started in another browser".
export const PENDING_LOGIN_LIFETIME_MS = 15 * 60 * 1000;

type SessionData = SessionRecord;

function timeAt(data: object, key: string): number | undefined {
  const value = (data as Record<string, unknown>)[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** When a session ends if it is written now: idle window from now, capped by the absolute lifetime. */
export function computeSessionExpiry(data: SessionData, now: number, lifetimes: SessionLifetimes): number {
  const createdAt = timeAt(data, CREATED_AT_KEY);
  if (createdAt === undefined) return pendingLoginsExpiry(data, now);
  return Math.min(now + lifetimes.idleTimeoutSeconds * 1000, createdAt + lifetimes.absoluteTimeoutSeconds * 1000);
}

/** A row without a user ends a fixed time after its newest login started, however often it is written. */
function pendingLoginsExpiry(data: SessionData, now: number): number {
  const pending = data[PENDING_LOGINS_KEY];
  let newest: number | undefined;
  if (typeof pending === 'object' && pending !== null) {
    for (const login of Object.values(pending as Record<string, unknown>)) {
      const startedAt = typeof login === 'object' && login !== null ? timeAt(login, 'createdAt') : undefined;
      // A start time from the future (a tampered or skewed record) counts as now.
      if (startedAt !== undefined) newest = Math.max(newest ?? 0, Math.min(startedAt, now));
    }
  }
  return (newest ?? now) + PENDING_LOGIN_LIFETIME_MS;
}

/**
 * Whether a session has outlived the lifetimes in force now. The stored expiry only ever reflects
 * the settings it was written under, so lowering a timeout must also be checked at read.
 */
export function hasOutlivedLifetimes(data: SessionData, now: number, lifetimes: SessionLifetimes): boolean {
  const createdAt = timeAt(data, CREATED_AT_KEY);
  if (createdAt !== undefined && now > createdAt + lifetimes.absoluteTimeoutSeconds * 1000) return true;
  const lastActiveAt = timeAt(data, LAST_ACTIVE_AT_KEY);
  return lastActiveAt !== undefined && now > lastActiveAt + lifetimes.idleTimeoutSeconds * 1000;
}

/**
 * Touch at most once per interval: a tenth of the idle timeout, at most five minutes. An idle
 * session therefore ends at most one interval early, never late.
 */
export function touchIntervalMs(lifetimes: SessionLifetimes): number {
  return Math.min(lifetimes.idleTimeoutSeconds * 100, 5 * 60 * 1000);
}

/**
 * Only a signed-in session is ever extended: a row holding only pending logins must end on its own,
 * or anonymous polling with a pre-login cookie keeps it alive forever. Rows written before
 * `lastActiveAt` existed are touched once to get it.
 */
export function isTouchDue(data: SessionData, now: number, lifetimes: SessionLifetimes): boolean {
  if (timeAt(data, CREATED_AT_KEY) === undefined) return false;
  const lastActiveAt = timeAt(data, LAST_ACTIVE_AT_KEY);
  return lastActiveAt === undefined || now - lastActiveAt >= touchIntervalMs(lifetimes);
}
