import type { PendingLogin } from '../auth/pending-logins.ts';
import type { SessionUser } from '../auth/session-user.ts';

/** The cookie fields express-session keeps in every record and rebuilds its Cookie from. */
export interface SessionCookieData {
  originalMaxAge?: number | null;
  expires?: string | null;
  path?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: string | boolean;
  domain?: string;
}

/**
 * What one session holds, in every store: the contract between express-session, the login
 * adapter, the token route and the session repositories. Times are milliseconds since the epoch.
 */
export interface SessionRecord {
  cookie: SessionCookieData;
  /** Written by passport at login (auth/session-user.ts). */
  passport?: { user?: SessionUser };
  /** Set at login; the absolute lifetime counts from it. Only a signed-in session has it. */
  createdAt?: number;
  /** Set at each write and touch; the idle lifetime counts from it. */
  lastActiveAt?: number;
  /** Logins between the redirect to the provider and its callback (auth/pending-logins.ts). */
  pendingLogins?: Record<string, PendingLogin>;
}

/** A stored record, or undefined when it is not one (express-session throws, a 500, on wrong cookie types). */
export function parseSessionRecord(value: unknown): SessionRecord | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const data: unknown = JSON.parse(value);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
    if (!isCookieData((data as { cookie?: unknown }).cookie)) return undefined;
    return data as SessionRecord;
  } catch {
    return undefined;
  }
}

function isCookieData(cookie: unknown): boolean {
  if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) return false;
  const { originalMaxAge, expires, path, httpOnly, secure, sameSite, domain } = cookie as Record<string, unknown>;
  const optional = (value: unknown, type: string) => value === undefined || value === null || typeof value === type;
  return optional(originalMaxAge, 'number') && optional(path, 'string') && optional(httpOnly, 'boolean')
    && optional(secure, 'boolean') && optional(domain, 'string') && (optional(sameSite, 'string') || typeof sameSite === 'boolean')
    && (optional(expires, 'string') ? expires === undefined || expires === null || !Number.isNaN(Date.parse(expires as string)) : false);
}
