// Types for hivekit-token-client.js, for TypeScript callers (and this project's tests, whose
// tsconfig does not check JavaScript). Keep in step with the JSDoc in the .js file.

export interface TokenUser {
  sub: string;
  name?: string;
  email?: string;
}

export interface TokenSession {
  /** The Hivekit access token (a JWT). */
  readonly token: string;
  readonly user: Readonly<TokenUser>;
  /** Unix seconds, as the server sent it (server clock). */
  readonly expiresAt: number;
  /** The same instant in this page's clock, ms. */
  readonly localExpiresAt: number;
  /** When renewal starts, this page's clock, ms. */
  readonly renewAt: number;
}

export type TokenStatus = 'idle' | 'signed-in' | 'signed-out' | 'error';

export interface TokenState {
  readonly status: TokenStatus;
  /** The token in use; kept while still valid even if renewal fails. */
  readonly session: TokenSession | null;
  /** Why the last request failed; null after a success. */
  readonly error: TokenClientError | null;
  /** When the next automatic attempt runs, ms, or null. */
  readonly retryAt: number | null;
}

export interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

export interface TokenClientOptions {
  url?: string;
  fetch?: (url: string, init: RequestInit) => Promise<ResponseLike>;
  /** ms since the epoch */
  now?: () => number;
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (handle: any) => void;
  /** in [0, 1) */
  random?: () => number;
  /** Start renewing this long before expiry; default 60 s. */
  renewBeforeMs?: number;
  /** First back-off step; default 1 s. */
  minRetryMs?: number;
  /** Back-off ceiling; default 30 s. */
  maxRetryMs?: number;
  /** Give up on a request after this long; default 15 s. */
  requestTimeoutMs?: number;
}

export class TokenClientError extends Error {
  constructor(
    code: string,
    message: string,
    details?: { status?: number; retryable?: boolean; retryAfterMs?: number | null },
  );
  readonly code: string;
  /** HTTP status, 0 when no response arrived. */
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
}

export interface TokenClient {
  /** A valid token, null when signed out; rejects with TokenClientError when none can be had. */
  getToken(): Promise<string | null>;
  /** The token in use if it is still valid, else null. */
  current(): TokenSession | null;
  /** Called on every change of state; returns the unsubscribe function. */
  onChange(listener: (state: TokenState) => void): () => void;
  /** Cancels timers and any request in flight; the client cannot be used afterwards. */
  stop(): void;
}

export function createTokenClient(options?: TokenClientOptions): TokenClient;
