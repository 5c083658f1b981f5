import { AppError, type ErrorCode } from '../errors/app-error.ts';

export interface LoginFailure {
  code: ErrorCode;
  detail: string;
}

export type CallbackParams =
  | { kind: 'code'; state: string }
  | { kind: 'error'; state: unknown; error: string }
  | { kind: 'malformed'; detail: string };

// RFC 6749 §4.1.2.1: error codes are printable ASCII without quotes or backslash; ours are tighter still.
const OAUTH_ERROR_CODE = /^[a-z_]{1,64}$/;
// The user or the provider declined; OIDC Core §3.1.2.6 lists the interaction ones.
const DECLINED = new Set(['access_denied', 'login_required', 'consent_required', 'interaction_required', 'account_selection_required']);

/** A callback is exactly one `code` or one `error`, with one `state`; anything else never reaches the library. */
export function readCallbackParams(query: Record<string, unknown>): CallbackParams {
  const { code, error, state } = query;
  if (typeof error === 'string') {
    return { kind: 'error', state, error: OAUTH_ERROR_CODE.test(error) ? error : 'invalid_error_code' };
  }
  if (typeof code !== 'string' || code === '') return { kind: 'malformed', detail: 'callback without a single code or error' };
  if (typeof state !== 'string' || state === '') return { kind: 'malformed', detail: 'callback without a single state' };
  return { kind: 'code', state };
}

/** The provider's error response, once its state has been checked. Only the validated code is logged. */
export function providerRefusal(error: string): LoginFailure {
  if (DECLINED.has(error)) return { code: 'access_denied', detail: `provider answered ${error}` };
  return { code: 'login_failed', detail: `provider answered ${error}` };
}

/** Every way the library's part of the callback can fail, reduced to one code a person can act on. */
export function classifyFailure(error: unknown, info: unknown): LoginFailure {
  const reason = (info as { reason?: unknown } | undefined)?.reason;
  if (reason === 'state_mismatch' || reason === 'login_expired') return { code: reason, detail: `state: ${reason}` };
  if (!error) {
    // Error responses are handled before the library runs, so its failures are its own ID-token claim checks.
    const message = (info as { message?: unknown } | undefined)?.message;
    return { code: 'provider_error', detail: typeof message === 'string' ? message.slice(0, 120) : 'ID token refused' };
  }
  const wrapped = (error as { oauthError?: unknown }).oauthError;
  const appError = error instanceof AppError ? error : wrapped instanceof AppError ? wrapped : undefined;
  if (appError) return { code: appError.code, detail: appError.detail ?? appError.message };
  const name = (error as { name?: unknown }).name;
  if (name === 'TokenError') return { code: 'login_failed', detail: 'token endpoint refused the code' };
  return { code: 'login_failed', detail: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : 'unknown failure' };
}

/**
 * Calls a foreign library's callback outside our promise chain: if the library throws while
 * handling what we give it, that becomes `onThrow`, not an unhandled rejection that ends the process.
 */
export function deliverSafely(call: () => void, onThrow: (error: unknown) => void): void {
  process.nextTick(() => {
    try {
      call();
    } catch (error) {
      onThrow(error);
    }
  });
}
