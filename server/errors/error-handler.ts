import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from '../logging/logger.ts';
import { escapeHtml } from '../http/escape-html.ts';
import { requestLogger } from '../http/log-requests.ts';
import { AppError, isAppError } from './app-error.ts';

const OUTAGE_STATUSES = new Set([502, 503]);
const ERROR_CODE = Symbol('answered error code');

/** The error code this response answered with, once the error handler has run (for metrics). */
export function answeredErrorCode(res: Response): string | undefined {
  return (res.locals as Record<symbol, unknown>)[ERROR_CODE] as string | undefined;
}

/** Turns any error into the one response shape: JSON for API callers, a small page for browser navigations. */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return function handleError(error, req, res, _next) {
    const appError = toAppError(error);
    (res.locals as Record<symbol, unknown>)[ERROR_CODE] = appError.code;
    const log = requestLogger(res, logger);
    const logFields = { method: req.method, path: req.path.slice(0, 200), error: appError.code, status: appError.status, detail: appError.detail, client: req.ip };
    // A provider or store outage (502, 503) is a warning, not a bug; so is a rate limit biting (429).
    if (appError.status >= 500) log[OUTAGE_STATUSES.has(appError.status) ? 'warn' : 'error']('request_failed', { ...logFields, cause: describeCause(error) });
    else log[appError.status === 429 ? 'warn' : 'info']('request_refused', logFields);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(req, res, appError);
  };
}

export function sendError(req: Request, res: Response, error: AppError): void {
  res.status(error.status).set(error.headers).set('Cache-Control', 'no-store');
  if (wantsHtml(req)) {
    res.type('html').send(renderErrorPage(error));
  } else {
    res.json({ error: error.code, message: error.message });
  }
}

export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  // body-parser and friends mark client errors with a status; never echo their text.
  if (status === 431) return new AppError('headers_too_large', { cause: error });
  if (typeof status === 'number' && status >= 400 && status < 500) return new AppError('bad_request', { cause: error });
  if (error instanceof URIError) return new AppError('bad_request', { cause: error });
  return new AppError('internal_error', { cause: error });
}

function wantsHtml(req: Request): boolean {
  if (req.get('sec-fetch-mode') === 'navigate') return true;
  return req.accepts(['json', 'html']) === 'html' && (req.get('accept') ?? '').includes('text/html');
}

function renderErrorPage(error: AppError): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(error.message)}</title><link rel="stylesheet" href="/styles.css"></head>
<body><main class="error-page"><h1>${escapeHtml(error.message)}</h1>
<p>Error code: <code>${escapeHtml(error.code)}</code> (HTTP ${error.status})</p>
<p><a href="/">Back to the start page</a></p></main></body></html>`;
}

function describeCause(error: unknown): string {
  const cause = isAppError(error) ? error.cause ?? error : error;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`.slice(0, 500);
  return String(cause).slice(0, 500);
}
