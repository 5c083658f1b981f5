import { AppError } from './app-error.ts';

/**
 * An error in one short string for a log line or an error's detail: an AppError's detail (or its
 * code), a foreign error's `code: message`. Never a stack trace.
 */
export function describeError(error: unknown): string {
  if (error instanceof AppError) return error.detail ?? error.code;
  if (!(error instanceof Error)) return String(error);
  const code = (error as Error & { code?: unknown }).code;
  return code === undefined ? error.message : `${String(code)}: ${error.message}`;
}
