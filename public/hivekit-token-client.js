// @ts-check
/**
 * Browser client for the Hivekit token BFF: fetches a short-lived Hivekit access token from
 * `GET /hivekit-access-token`, keeps it in memory only, and renews it before it expires.
 *
 * Copy this file into your app as is: no dependencies, no build step. Types are in
 * hivekit-token-client.d.ts next to it.
 *
 * The token never goes to localStorage, sessionStorage, a cookie or the URL: any script on the
 * origin can read those, and a token that outlives the page outlives the user's intent. A reload
 * costs one request, which is cheap next to that.
 */

/**
 * @typedef {{ sub: string, name?: string, email?: string }} TokenUser
 * @typedef {object} TokenSession
 * @property {string} token           the Hivekit access token (a JWT)
 * @property {TokenUser} user
 * @property {number} expiresAt       unix seconds, as the server sent it (server clock)
 * @property {number} localExpiresAt  the same instant in this page's clock, ms
 * @property {number} renewAt         when renewal starts, this page's clock, ms
 * @property {ReadonlyArray<DroppedScope>} dropped  what a request for less asked for and did not get ([] without one)
 * @typedef {{ realm: string, pattern?: string, letters?: string, reason: string }} DroppedScope
 * @typedef {object} TokenRequest  ask for less than the policy grants (the server intersects)
 * @property {string[]} [realms]   only these realms
 * @property {Record<string, Record<string, string>>} [per]  only these realm → id pattern → letters
 * @property {boolean} [strict]    refuse (403 scope_not_granted) rather than drop what is not granted
 * @typedef {'idle' | 'signed-in' | 'user-changed' | 'signed-out' | 'error'} TokenStatus
 * @typedef {object} TokenState
 * @property {TokenStatus} status  'user-changed': a token for another sub than the last one arrived
 *   (someone signed in as another user in another tab); `session` is the new user's
 * @property {TokenSession | null} session  the token in use, kept while still valid even if renewal fails
 * @property {TokenUser | null} previousUser  with 'user-changed': who was signed in before, else null
 * @property {TokenClientError | null} error  why the last request failed, null after a success
 * @property {number | null} retryAt        when the next automatic attempt runs, ms, or null
 * @property {string} request              the request shape as a query string, '' for the full token
 * @typedef {{ status: number, headers: { get(name: string): string | null }, json(): Promise<unknown> }} ResponseLike
 * @typedef {object} TokenClientOptions
 * @property {string} [url]
 * @property {(url: string, init: RequestInit) => Promise<ResponseLike>} [fetch]
 * @property {() => number} [now]  ms since the epoch
 * @property {(callback: () => void, ms: number) => unknown} [setTimeout]
 * @property {(handle: any) => void} [clearTimeout]
 * @property {() => number} [random]  in [0, 1)
 * @property {number} [renewBeforeMs]     start renewing this long before expiry (default 60 s)
 * @property {number} [minRetryMs]        first back-off step (default 1 s)
 * @property {number} [maxRetryMs]        back-off ceiling (default 30 s)
 * @property {number} [requestTimeoutMs]  give up on a request after this long (default 15 s)
 * @property {number} [maxRequestShapes]  request shapes kept (each renews itself), least recently used dropped (default 8)
 */

const MAX_RETRY_AFTER_MS = 10 * 60_000;
// setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TokenClientError extends Error {
  /**
   * @param {string} code  stable, machine-readable
   * @param {string} message  human text, safe to show
   * @param {{ status?: number, retryable?: boolean, retryAfterMs?: number | null, dropped?: ReadonlyArray<DroppedScope>, previousSub?: string, sub?: string }} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'TokenClientError';
    this.code = code;
    /** HTTP status, 0 when no response arrived */
    this.status = details.status ?? 0;
    this.retryable = details.retryable ?? false;
    this.retryAfterMs = details.retryAfterMs ?? null;
    /** for scope_not_granted: what strict mode refused */
    this.dropped = details.dropped ?? [];
    /** for user_changed: whose token was asked for, and whose the server has now */
    this.previousSub = details.previousSub ?? null;
    this.sub = details.sub ?? null;
  }
}

/**
 * One client for the full token and each request shape a page asks for (`getToken({ realms:
 * ['london'] })`): each shape is its own token, cached and renewed on its own, so a page that
 * asks for the same shape twice gets the held token.
 * @param {TokenClientOptions} [options]
 */
export function createTokenClient(options = {}) {
  const baseUrl = options.url ?? '/hivekit-access-token';
  const maxShapes = options.maxRequestShapes ?? 8;
  /** @type {Set<(state: TokenState) => void>} */
  const listeners = new Set();
  /** @type {Map<string, ReturnType<typeof createChannel>>} */
  const channels = new Map();
  let stopped = false;
  /** @type {Identity} */
  const identity = {
    user: null,
    changed(query) {
      // Every other shape holds the previous user's token: none of it may be handed out again.
      for (const [other, channel] of channels) if (other !== query) channel.forget();
    },
  };

  /** @param {TokenRequest | undefined} request */
  function channelFor(request) {
    const query = toQuery(request);
    let channel = channels.get(query);
    if (channel !== undefined) {
      // Most recently used last, so eviction takes the shape unused longest.
      channels.delete(query);
    } else {
      const url = query === '' ? baseUrl : `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}${query}`;
      channel = createChannel(options, url, query, listeners, identity);
    }
    channels.set(query, channel);
    if (channels.size > maxShapes) {
      const [oldestQuery, oldest] = /** @type {[string, ReturnType<typeof createChannel>]} */ (channels.entries().next().value);
      oldest.stop();
      channels.delete(oldestQuery);
    }
    return channel;
  }

  return {
    /** @param {TokenRequest} [request] @returns {Promise<string | null>} */
    async getToken(request) {
      if (stopped) throw stoppedError();
      return channelFor(request).getToken();
    },
    /** The token in use for this request shape if it is still valid, else null. @param {TokenRequest} [request] @returns {TokenSession | null} */
    current: (request) => channels.get(toQuery(request))?.current() ?? null,
    /** @param {(state: TokenState) => void} listener @returns {() => void} unsubscribe */
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    stop() {
      stopped = true;
      for (const channel of channels.values()) channel.stop();
      channels.clear();
      listeners.clear();
    },
  };
}

/**
 * The request as the server's query string, canonical so that equal requests share one token:
 * realms sorted and unique, `per` with sorted keys and letters in C R U D order.
 * @param {TokenRequest | undefined} request @returns {string}
 */
function toQuery(request) {
  if (request === undefined) return '';
  if (!isRecord(request)) throw new TypeError('getToken(request): request must be an object');
  const params = new URLSearchParams();
  if (request.realms !== undefined) {
    if (!Array.isArray(request.realms) || !request.realms.every((realm) => typeof realm === 'string')) {
      throw new TypeError('getToken(request): realms must be an array of realm ids');
    }
    for (const realm of [...new Set(request.realms)].sort()) params.append('realm', realm);
  }
  if (request.per !== undefined) {
    if (!isRecord(request.per)) throw new TypeError('getToken(request): per must be an object of realm → { pattern: letters }');
    /** @type {Record<string, Record<string, string>>} */
    const per = {};
    for (const realm of Object.keys(request.per).sort()) {
      const patterns = request.per[realm];
      if (!isRecord(patterns)) throw new TypeError(`getToken(request): per[${JSON.stringify(realm)}] must be an object`);
      /** @type {Record<string, string>} */
      const sorted = {};
      for (const pattern of Object.keys(patterns).sort()) {
        const letters = patterns[pattern];
        if (typeof letters !== 'string') throw new TypeError('getToken(request): letters must be a string such as "R"');
        sorted[pattern] = [...letters].sort((a, b) => 'CRUD'.indexOf(a) - 'CRUD'.indexOf(b)).join('');
      }
      per[realm] = sorted;
    }
    params.set('per', JSON.stringify(per));
  }
  if (request.strict === true) params.set('strict', 'true');
  return params.toString();
}

/**
 * Who the tokens of one client belong to, shared by all its request shapes: the user of the last
 * token received (kept through a sign-out, so Alice → signed out → Bob is a change too).
 * @typedef {{ user: TokenUser | null, changed(query: string): void }} Identity
 */

/**
 * @param {TokenClientOptions} options @param {string} url @param {string} request
 * @param {Set<(state: TokenState) => void>} listeners @param {Identity} identity
 */
function createChannel(options, url, request, listeners, identity) {
  // Kept in locals and called bare: browsers throw "Illegal invocation" when window.fetch or
  // window.setTimeout run with an options object as `this`.
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const now = options.now ?? (() => Date.now());
  const setTimer = options.setTimeout ?? ((callback, ms) => globalThis.setTimeout(callback, ms));
  const clearTimer = options.clearTimeout ?? ((handle) => globalThis.clearTimeout(handle));
  const random = options.random ?? Math.random;
  const renewBeforeMs = options.renewBeforeMs ?? 60_000;
  const minRetryMs = options.minRetryMs ?? 1_000;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;

  /** @type {TokenState} */
  let state = Object.freeze({ status: 'idle', session: null, error: null, retryAt: null, previousUser: null, request });
  /** @type {Promise<void> | null} */
  let inflight = null;
  /** @type {AbortController | null} */
  let inflightAbort = null;
  /** @type {unknown} */
  let timer = null;
  let failures = 0;
  let stopped = false;

  /** @param {TokenSession | null} session @returns {session is TokenSession} */
  function isUsable(session) {
    if (session === null) return false;
    // Keep a margin so a token handed out now is still valid when Hivekit checks it.
    const marginMs = Math.min(5_000, (session.localExpiresAt - session.renewAt) / 2);
    return now() < session.localExpiresAt - marginMs;
  }

  /** @returns {Promise<string | null>} */
  async function getToken() {
    if (stopped) throw stoppedError();
    // A caller asks as the user it last heard of; another user's token goes only to callers that
    // asked after the 'user-changed' state was delivered.
    const askedAs = identity.user?.sub ?? null;
    const { session, retryAt, error } = state;
    if (session !== null && now() < session.renewAt) return session.token;
    // While backing off, callers get what we have rather than a request of their own: a page
    // that calls getToken() in a loop must not undo the back-off.
    if (retryAt !== null && now() < retryAt && error !== null) {
      if (isUsable(session)) return session.token;
      throw error;
    }
    await refresh();
    if (stopped) throw stoppedError();
    if (state.status === 'signed-out') return null;
    if (askedAs !== null && state.session !== null && state.session.user.sub !== askedAs) throw userChangedError(askedAs, state.session.user.sub);
    if (isUsable(state.session)) return state.session.token;
    throw state.error ?? new TokenClientError('no_token', 'No token is available.');
  }

  function refresh() {
    inflight ??= requestToken().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  async function requestToken() {
    const abort = new AbortController();
    inflightAbort = abort;
    /** @type {Outcome} */
    let outcome;
    try {
      outcome = await withTimeout(fetchAndRead(abort.signal), abort);
    } catch (error) {
      outcome = { kind: 'error', error: toClientError(error) };
    }
    if (inflightAbort === abort) inflightAbort = null;
    if (!stopped) apply(outcome);
  }

  /**
   * A hung request would hold the shared in-flight promise forever and starve every caller, so
   * the timeout races the whole exchange and does not rely on fetch honouring the signal.
   * @template T @param {Promise<T>} work @param {AbortController} abort @returns {Promise<T>}
   */
  function withTimeout(work, abort) {
    /** @type {unknown} */
    let handle;
    const timeout = new Promise((_, reject) => {
      handle = setTimer(() => {
        abort.abort();
        reject(new TokenClientError('timeout', 'The token service did not answer in time.', { retryable: true }));
      }, requestTimeoutMs);
    });
    return /** @type {Promise<T>} */ (Promise.race([work, timeout])).finally(() => clearTimer(handle));
  }

  /** @param {AbortSignal} signal @returns {Promise<Outcome>} */
  async function fetchAndRead(signal) {
    const response = await fetchFn(url, {
      method: 'GET',
      // The BFF refuses cross-site token requests by Fetch Metadata and Origin, and from browsers
      // without Fetch Metadata it answers only requests carrying this header (403 otherwise). It
      // marks the request as a script's: no form or image can set it, and a cross-site fetch that
      // sets it needs a CORS preflight the BFF grants only to CORS_ALLOWED_ORIGINS.
      headers: { 'X-Hivekit-BFF': '1', Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
      // A redirect here means something in front of the BFF wants a login; following it would
      // start one in the background. Treat it as a failed request instead.
      redirect: 'error',
      signal,
    });
    const receivedAt = now();
    return readResponse(response, receivedAt);
  }

  /** @param {ResponseLike} response @param {number} receivedAt @returns {Promise<Outcome>} */
  async function readResponse(response, receivedAt) {
    const { status } = response;
    if (status === 401) return { kind: 'signed-out' };
    const body = await response.json().catch(() => null);
    if (status === 200) {
      if (isRecord(body) && body.authenticated === false) return { kind: 'signed-out' };
      if (!isTokenBody(body)) {
        return { kind: 'error', error: new TokenClientError('invalid_response', 'The token service sent an unreadable answer.', { status, retryable: true }) };
      }
      return toSessionOutcome(body, serverClock(response), receivedAt);
    }
    const serverCode = isRecord(body) && typeof body.error === 'string' ? body.error : null;
    const serverMessage = isRecord(body) && typeof body.message === 'string' ? body.message : null;
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), serverClock(response) ?? receivedAt);
      return { kind: 'error', error: new TokenClientError(serverCode ?? 'rate_limited', serverMessage ?? 'Too many token requests; waiting before trying again.', { status, retryable: true, retryAfterMs }) };
    }
    const retryable = status >= 500 || status === 408;
    const fallback = retryable ? 'The token service is having trouble.' : `The token service answered unexpectedly (HTTP ${status}).`;
    const dropped = isRecord(body) && Array.isArray(body.dropped) ? Object.freeze(body.dropped.slice()) : undefined;
    return { kind: 'error', error: new TokenClientError(serverCode ?? `http_${status}`, serverMessage ?? fallback, { status, retryable, dropped }) };
  }

  /**
   * The server's `expiresAt` is on the server's clock; a browser clock minutes off would renew
   * too early or, worse, hand out expired tokens. Measure the lifetime on the server's clock
   * (its Date header) and place it on ours. Date has whole seconds; the renewal lead absorbs that.
   * @param {TokenBody} body @param {number | null} serverNow @param {number} receivedAt @returns {Outcome}
   */
  function toSessionOutcome(body, serverNow, receivedAt) {
    const lifetimeMs = body.expiresAt * 1000 - (serverNow ?? receivedAt);
    if (!(lifetimeMs > 0)) {
      return { kind: 'error', error: new TokenClientError('expired_token', 'The token service sent a token that has already expired.', { status: 200, retryable: true }) };
    }
    // At most a third of the lifetime, so a short-lived token is still used for most of its
    // life; up to half as much again at random, so tabs opened together drift apart.
    const baseLeadMs = Math.min(renewBeforeMs, lifetimeMs / 3);
    const leadMs = baseLeadMs * (1 + random() / 2);
    const localExpiresAt = receivedAt + lifetimeMs;
    const session = Object.freeze({
      token: body.token,
      user: Object.freeze({ ...body.user }),
      expiresAt: body.expiresAt,
      localExpiresAt,
      renewAt: localExpiresAt - leadMs,
      dropped: Object.freeze(Array.isArray(body.dropped) ? body.dropped.slice() : []),
    });
    return { kind: 'session', session };
  }

  /** @param {Outcome} outcome */
  function apply(outcome) {
    clearTimer(timer);
    timer = null;
    if (outcome.kind === 'session') {
      failures = 0;
      const previousUser = identity.user;
      identity.user = outcome.session.user;
      if (previousUser !== null && previousUser.sub !== outcome.session.user.sub) {
        identity.changed(request);
        setState({ status: 'user-changed', session: outcome.session, error: null, retryAt: null, previousUser });
      } else {
        setState({ status: 'signed-in', session: outcome.session, error: null, retryAt: null });
      }
      schedule(outcome.session.renewAt - now());
      return;
    }
    if (outcome.kind === 'signed-out') {
      // Definitive: only a login (a navigation) changes it, so no timer retries.
      failures = 0;
      setState({ status: 'signed-out', session: null, error: null, retryAt: null });
      return;
    }
    const { error } = outcome;
    const session = isUsable(state.session) ? state.session : null;
    const status = session ? 'signed-in' : 'error';
    if (!error.retryable) {
      setState({ status, session, error, retryAt: null });
      return;
    }
    failures += 1;
    const delayMs = Math.max(backoffMs(failures), error.retryAfterMs ?? 0);
    setState({ status, session, error, retryAt: now() + delayMs });
    schedule(delayMs);
  }

  /**
   * Exponential, capped, with "equal jitter": each wait is drawn from the upper half of its step
   * (0.5–1 s, 1–2 s, … 15–30 s) so clients that failed together do not retry together.
   * @param {number} attempt
   */
  function backoffMs(attempt) {
    const stepMs = Math.min(maxRetryMs, minRetryMs * 2 ** (attempt - 1));
    return stepMs / 2 + (random() * stepMs) / 2;
  }

  /** @param {number} delayMs */
  function schedule(delayMs) {
    timer = setTimer(() => {
      timer = null;
      void refresh();
    }, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)));
  }

  /** @param {Omit<TokenState, 'request' | 'previousUser'> & { previousUser?: TokenUser }} next */
  function setState(next) {
    state = Object.freeze({ previousUser: null, ...next, request });
    for (const listener of [...listeners]) {
      try {
        listener(state);
      } catch (error) {
        // One faulty listener must not stop the others or the client; still let it surface.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  return {
    getToken,
    /** @returns {TokenSession | null} */
    current: () => (isUsable(state.session) ? state.session : null),
    /** The user changed in another shape: drop this shape's token (the previous user's) and start afresh. */
    forget() {
      clearTimer(timer);
      timer = null;
      failures = 0;
      if (state.status !== 'idle') setState({ status: 'idle', session: null, error: null, retryAt: null });
    },
    stop() {
      stopped = true;
      clearTimer(timer);
      timer = null;
      inflightAbort?.abort();
    },
  };
}

/**
 * @typedef {{ authenticated: true, user: TokenUser, token: string, expiresAt: number, dropped?: DroppedScope[] }} TokenBody
 * @typedef {{ kind: 'session', session: TokenSession } | { kind: 'signed-out' } | { kind: 'error', error: TokenClientError }} Outcome
 */

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isRecord(value) {
  return typeof value === 'object' && value !== null;
}

/** @param {unknown} body @returns {body is TokenBody} */
function isTokenBody(body) {
  return (
    isRecord(body) &&
    body.authenticated === true &&
    typeof body.token === 'string' &&
    body.token !== '' &&
    typeof body.expiresAt === 'number' &&
    Number.isFinite(body.expiresAt) &&
    isRecord(body.user)
  );
}

/** @param {ResponseLike} response @returns {number | null} */
function serverClock(response) {
  const date = Date.parse(response.headers.get('date') ?? '');
  return Number.isNaN(date) ? null : date;
}

/**
 * RFC 9110 §10.2.3: either delay-seconds or an HTTP-date. Bounded so a wrong header cannot park
 * the page for hours.
 * @param {string | null} value @param {number} serverNow @returns {number | null}
 */
function parseRetryAfter(value, serverNow) {
  if (value === null) return null;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - serverNow;
  return Number.isNaN(ms) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** @param {unknown} error */
function toClientError(error) {
  if (error instanceof TokenClientError) return error;
  return new TokenClientError('network_error', 'Cannot reach the token service.', { retryable: true });
}

/** @param {string} askedAs @param {string} nowSub */
function userChangedError(askedAs, nowSub) {
  return new TokenClientError(
    'user_changed',
    'Another user signed in on this site (in another tab or window), so the token asked for no longer exists. Ask again to get the new user\'s token.',
    { status: 200, previousSub: askedAs, sub: nowSub },
  );
}

function stoppedError() {
  return new TokenClientError('stopped', 'The token client was stopped.');
}
