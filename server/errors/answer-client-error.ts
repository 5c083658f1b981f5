import type { Duplex } from 'node:stream';
import { ERRORS, type ErrorCode } from './app-error.ts';

/**
 * Node's 'clientError' handler: what the HTTP parser refuses before Express sees a request (a
 * header or request deadline, headers over the size cap, malformed HTTP) gets the same JSON body
 * as every other error. Node's own answer has a status line and no body.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // Never write into a response already on its way: that would corrupt what the client reads.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    socket.write(rawResponse(codeFor(error)));
  }
  socket.destroy();
}

function codeFor(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  return 'bad_request';
}

const REASONS: Partial<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function rawResponse(code: ErrorCode): string {
  const { status, message } = ERRORS[code];
  const body = JSON.stringify({ error: code, message });
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n`
    + 'Content-Type: application/json; charset=utf-8\r\n'
    + 'Cache-Control: no-store\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\n`
    + 'Connection: close\r\n\r\n'
    + body;
}
