import { randomBytes } from 'node:crypto';
import { PENDING_LOGINS_KEY } from '../sessions/session-expiry.ts';

/** A login between the redirect to the provider and its callback, kept in the pre-login session. */
export interface PendingLogin {
  nonce?: string;
  codeVerifier: string;
  returnTo: string;
  createdAt: number;
}

export type PendingLoginFailure = 'state_mismatch' | 'login_expired';

// Issue: a login started in one tab may finish after another tab's; a few may be in flight at once.
const MAX_PENDING_LOGINS = 5;
export const PENDING_LOGIN_MAX_AGE_MS = 10 * 60 * 1000;
const SESSION_KEY = PENDING_LOGINS_KEY;

type SessionLike = Record<string, unknown> | undefined;
type Pending = Record<string, PendingLogin>;

function pendingOf(session: SessionLike): Pending {
  const value = session?.[SESSION_KEY];
  return typeof value === 'object' && value !== null ? (value as Pending) : {};
}

/** Records a login and returns its `state` handle; the oldest ones go when there are too many. */
export function rememberPendingLogin(session: Record<string, unknown>, login: PendingLogin): string {
  const handle = randomBytes(24).toString('base64url');
  const pending = { ...pendingOf(session), [handle]: login };
  const handles = Object.keys(pending).sort((a, b) => pending[a]!.createdAt - pending[b]!.createdAt);
  for (const old of handles.slice(0, Math.max(0, handles.length - MAX_PENDING_LOGINS))) delete pending[old];
  session[SESSION_KEY] = pending;
  return handle;
}

/** Single use: the entry is removed whether or not it is still valid. */
export function takePendingLogin(
  session: SessionLike,
  handle: unknown,
  now: number,
): { login: PendingLogin } | { failure: PendingLoginFailure } {
  const pending = pendingOf(session);
  if (typeof handle !== 'string' || handle === '') return { failure: 'state_mismatch' };
  const login = Object.hasOwn(pending, handle) ? pending[handle] : undefined;
  if (!login) {
    // No login at all in this browser: cookies lost or another browser. Some, but not this one: used or replaced.
    return { failure: Object.keys(pending).length === 0 ? 'state_mismatch' : 'login_expired' };
  }
  delete pending[handle];
  if (session) {
    if (Object.keys(pending).length === 0) delete session[SESSION_KEY];
    else session[SESSION_KEY] = pending;
  }
  if (now - login.createdAt > PENDING_LOGIN_MAX_AGE_MS) return { failure: 'login_expired' };
  return { login };
}
