/**
 * The one error vocabulary: every failure a client can see has a stable machine code, an HTTP
 * status and a message written for the person who can fix it. Foreign errors are translated into
 * these by the adapter that called the foreign library.
 */
export const ERRORS = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  cross_site_request: { status: 403, message: 'This endpoint only answers requests from this site.' },
  not_found: { status: 404, message: 'There is nothing at this address.' },
  request_timeout: { status: 408, message: 'The request did not arrive in time.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  rate_limited: { status: 429, message: 'Too many requests; retry after the time given in Retry-After.' },
  headers_too_large: { status: 431, message: 'The request headers or cookies are too large.' },
  wrong_host: { status: 400, message: 'Sign in at the address this service is configured for.' },
  login_expired: { status: 400, message: 'The login attempt expired or was already used. Please sign in again.' },
  state_mismatch: { status: 400, message: 'This sign-in did not start in this browser (blocked cookies or another tab). Please sign in again.' },
  access_denied: { status: 403, message: 'The identity provider refused the sign-in.' },
  login_failed: { status: 400, message: 'The sign-in could not be completed. Please try again.' },
  provider_error: { status: 502, message: 'The identity provider answered with something invalid.' },
  provider_unavailable: { status: 503, message: 'The identity provider cannot be reached right now. Please try again shortly.' },
  session_store_unavailable: { status: 503, message: 'Sessions are temporarily unavailable. Please try again shortly.' },
  scope_not_granted: { status: 403, message: 'Strict mode: the policy does not grant everything asked for; see dropped.' },
  token_too_large: { status: 500, message: 'The access token for this user would be too large; an administrator must narrow the permissions policy.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly status: number;

  /**
   * `message` is shown to the client; `detail` goes to the log only (never secrets or tokens);
   * `cause` keeps the foreign error for the log.
   */
  constructor(
    readonly code: ErrorCode,
    options: { message?: string; detail?: string; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(options.message ?? ERRORS[code].message, { cause: options.cause });
    this.name = 'AppError';
    this.status = ERRORS[code].status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
