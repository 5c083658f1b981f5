import type { ErrorRequestHandler, Response } from 'express';
import { toAppError } from '../errors/error-handler.ts';
import type { Logger } from '../logging/logger.ts';

/** RFC 6749 §5.2 and RFC 8693 §2.2.2 error codes this endpoint answers with. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope' | 'invalid_target';

/**
 * A refusal of a token request. `description` goes to the client and helps an honest developer
 * (what parameter is wrong), never an attacker: for the subject token it only ever says "invalid".
 * `detail` is for the log only.
 */
export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

export const INVALID_SUBJECT_TOKEN = 'The subject token is invalid, expired or not meant for this service.';

/**
 * The token endpoint's one error formatter: RFC 6749 §5.2 `{error, error_description}` with 400,
 * no-store. Our own failures (413, 429, 503, 500) keep their stable code in the same shape, so an
 * OAuth client library reads every answer of this endpoint the same way.
 */
export function createOAuthErrorHandler(logger: Logger): ErrorRequestHandler {
  return function answerTokenError(error, req, res, _next) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof OAuthError) {
      logger.info('token_exchange_refused', { error: error.code, detail: error.detail ?? error.description, ...res.locals.exchangeLog as object });
      send(res, 400, { error: error.code, error_description: error.description, ...error.extra });
      return;
    }
    const appError = toAppError(error);
    const fields = { path: req.path, error: appError.code, status: appError.status, detail: appError.detail, ...res.locals.exchangeLog as object };
    if (appError.status >= 500) logger.error('token_exchange_failed', fields);
    else logger.info('token_exchange_refused', fields);
    res.set(appError.headers);
    send(res, appError.status, { error: appError.code, error_description: appError.message });
  };
}

function send(res: Response, status: number, body: Record<string, unknown>): void {
  // RFC 6749 §5.1: token responses are never cached.
  res.status(status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(body);
}
