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
  /** What a request for less asked for and did not get; [] without a request. */
  readonly dropped: ReadonlyArray<DroppedScope>;
}

/** One entry of the server's `dropped` list (docs/POLICY.md, "Asking for less"). */
export interface DroppedScope {
  readonly realm: string;
  readonly pattern?: string;
  readonly letters?: string;
  readonly reason: 'realm_not_granted' | 'not_granted' | 'narrowed' | 'realm_not_requested' | string;
}

/** Ask for less than the policy grants; the server mints the intersection. */
export interface TokenRequest {
  /** Only these realms. */
  realms?: string[];
  /** Only these realm → id pattern → letters. */
  per?: Record<string, Record<string, string>>;
  /** Refuse (403 scope_not_granted) rather than drop what is not granted. */
  strict?: boolean;
}

/**
 * 'user-changed': a token for another `sub` than the last one arrived (another tab logged out and
 * in as someone else). The state carries the new user's session and `previousUser`; reset what
 * belongs to the old user (Hivekit connection, shown data) before using it.
 */
export type TokenStatus = 'idle' | 'signed-in' | 'user-changed' | 'signed-out' | 'error';

export interface TokenState {
  readonly status: TokenStatus;
  /** The token in use; kept while still valid even if renewal fails. */
  readonly session: TokenSession | null;
  /** Why the last request failed; null after a success. */
  readonly error: TokenClientError | null;
  /** When the next automatic attempt runs, ms, or null. */
  readonly retryAt: number | null;
  /** With status 'user-changed': who was signed in before; otherwise null. */
  readonly previousUser: Readonly<TokenUser> | null;
  /** The request shape this state belongs to, as a query string; '' for the full token. */
  readonly request: string;
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
  /** Request shapes kept, each renewing itself; the least recently used is dropped past it. Default 8. */
  maxRequestShapes?: number;
}

export class TokenClientError extends Error {
  constructor(
    code: string,
    message: string,
    details?: { status?: number; retryable?: boolean; retryAfterMs?: number | null; dropped?: ReadonlyArray<DroppedScope>; previousSub?: string; sub?: string },
  );
  readonly code: string;
  /** HTTP status, 0 when no response arrived. */
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
  /** For scope_not_granted: what strict mode refused. */
  readonly dropped: ReadonlyArray<DroppedScope>;
  /** For user_changed: the sub the caller asked as, and the sub now signed in. */
  readonly previousSub: string | null;
  readonly sub: string | null;
}

export interface TokenClient {
  /**
   * A valid token, null when signed out; rejects with TokenClientError when none can be had, and
   * with code 'user_changed' when the answer belongs to another user than the one signed in when
   * this call was made (listeners have then seen the 'user-changed' state; ask again for the new token).
   * With a request, a token narrowed to it, cached and renewed per request shape.
   */
  getToken(request?: TokenRequest): Promise<string | null>;
  /** The token in use for this request shape if it is still valid, else null. */
  current(request?: TokenRequest): TokenSession | null;
  /** Called on every change of state of any request shape (see `state.request`); returns the unsubscribe function. */
  onChange(listener: (state: TokenState) => void): () => void;
  /** Cancels timers and any request in flight; the client cannot be used afterwards. */
  stop(): void;
}

export function createTokenClient(options?: TokenClientOptions): TokenClient;
