import { request as requestHttp, type IncomingMessage } from 'node:http';
import { request as requestHttps } from 'node:https';
import { AppError } from '../errors/app-error.ts';

export type ProviderCallOutcome = 'answered' | 'server_error' | 'unavailable' | 'invalid';

export interface ProviderHttpOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Told of every call: the endpoint (discovery, jwks, token, userinfo …), how it went, how long it took. */
  observe?: (endpoint: string, outcome: ProviderCallOutcome, seconds: number) => void;
}

/** What a provider call sends: fetch's RequestInit, as far as the provider calls use it. */
export interface ProviderRequest {
  method?: string;
  /** A plain object, or a Headers (jose's JWKS fetch passes one). */
  headers?: Record<string, string> | Headers;
  body?: string | URLSearchParams;
  signal?: AbortSignal;
}

export interface ProviderResponse {
  status: number;
  text: string;
  json: unknown;
}

export const DEFAULT_PROVIDER_HTTP: ProviderHttpOptions = { timeoutMs: 5000, maxBytes: 512 * 1024 };

/**
 * Every call to the OpenID provider goes through here: one timeout covering connect, headers and
 * body, a size cap enforced while streaming, and errors translated to provider_unavailable (could
 * not talk to it) or provider_error (it answered something we cannot use). Bodies never reach the log.
 * A caller's own `init.signal` (jose's JWKS timeout) ends the call too, and then the caller gets
 * its signal's reason back untranslated: the abort is the caller's to describe.
 * Sent with node:http(s), not fetch: fetch's client compiles its HTTP parser to WebAssembly at its
 * first request, and that compilation leaves about 10 MB of native memory in every process.
 */
export async function callProvider(
  url: string,
  init: ProviderRequest,
  what: string,
  options: ProviderHttpOptions = DEFAULT_PROVIDER_HTTP,
): Promise<ProviderResponse> {
  const callerSignal = init.signal ?? undefined;
  const started = performance.now();
  // `what` starts with the endpoint's name ("token (refresh)", "jwks"): a label from our own vocabulary.
  const observe = (outcome: ProviderCallOutcome) => options.observe?.(what.split(' ')[0]!, outcome, (performance.now() - started) / 1000);
  try {
    const response = await callWithin(url, init, what, options, callerSignal);
    observe(response.status >= 500 ? 'server_error' : 'answered');
    return response;
  } catch (error) {
    observe(error instanceof AppError && error.code === 'provider_error' ? 'invalid' : 'unavailable');
    if (callerSignal?.aborted) throw callerSignal.reason;
    throw error;
  }
}

async function callWithin(
  url: string, init: ProviderRequest, what: string, options: ProviderHttpOptions, callerSignal: AbortSignal | undefined,
): Promise<ProviderResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
  const { status, text } = await send(url, init, what, options, signal);
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, text, json };
}

/** One request and its whole answer as text, or an AppError; the signal ends it at any point. */
function send(url: string, init: ProviderRequest, what: string, options: ProviderHttpOptions, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const unavailable = (error: unknown) => new AppError('provider_unavailable', { detail: `${what}: ${describeRequestError(error, options)}`, cause: error });
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (error) {
      return reject(new AppError('provider_error', { detail: `${what}: not a URL`, cause: error }));
    }
    const request = target.protocol === 'https:' ? requestHttps : target.protocol === 'http:' ? requestHttp : undefined;
    if (!request) return reject(new AppError('provider_error', { detail: `${what}: ${target.protocol} is neither http nor https` }));
    if (signal.aborted) return reject(unavailable(signal.reason));
    let settled = false;
    const settle = (error: unknown, answer?: { status: number; text: string }) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error); else resolve(answer!);
    };
    const onAbort = () => {
      settle(unavailable(signal.reason));
      outgoing.destroy();
    };
    const outgoing = request(target, { method: init.method ?? 'GET', headers: requestHeaders(init) }, (response) => {
      readCapped(response, what, options, (error, text) => {
        if (error) {
          settle(error);
          outgoing.destroy();
        } else {
          settle(undefined, { status: response.statusCode ?? 0, text: text! });
        }
      }, unavailable);
    });
    signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error) => settle(unavailable(error)));
    outgoing.end(init.body === undefined ? undefined : String(init.body));
  });
}

/** The headers fetch would have sent for this request: its body's type and length, and what we accept. */
function requestHeaders(init: ProviderRequest): Record<string, string> {
  const headers = init.headers instanceof Headers ? Object.fromEntries(init.headers) : Object.fromEntries(Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  headers.accept ??= '*/*';
  headers['user-agent'] ??= 'hivekit-token-bff';
  if (init.body !== undefined) {
    headers['content-type'] ??= init.body instanceof URLSearchParams ? 'application/x-www-form-urlencoded;charset=UTF-8' : 'text/plain;charset=UTF-8';
    headers['content-length'] = String(Buffer.byteLength(String(init.body)));
  }
  return headers;
}

/** For endpoints that must answer 200 with a JSON object. */
export async function fetchProviderJson(url: string, init: ProviderRequest, what: string, options?: ProviderHttpOptions): Promise<Record<string, unknown>> {
  const response = await callProvider(url, init, what, options);
  if (response.status >= 500) {
    throw new AppError('provider_unavailable', { detail: `${what}: HTTP ${response.status}` });
  }
  if (response.status !== 200) throw new AppError('provider_error', { detail: `${what}: HTTP ${response.status}` });
  if (!isJsonObject(response.json)) throw new AppError('provider_error', { detail: `${what}: the answer is not a JSON object` });
  return response.json;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The answer's body as text, refused past the size cap (declared or streamed); redirects are not followed. */
function readCapped(
  response: IncomingMessage, what: string, options: ProviderHttpOptions,
  done: (error: AppError | undefined, text?: string) => void, unavailable: (error: unknown) => AppError,
): void {
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400) {
    response.resume();
    return done(new AppError('provider_unavailable', { detail: `${what}: redirected (HTTP ${status}), not followed` }));
  }
  const declared = Number(response.headers['content-length']);
  if (declared > options.maxBytes) {
    response.destroy();
    return done(new AppError('provider_error', { detail: `${what}: answer of ${declared} bytes exceeds the ${options.maxBytes}-byte cap` }));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.byteLength;
    if (size > options.maxBytes) {
      response.destroy();
      return done(new AppError('provider_error', { detail: `${what}: answer exceeds the ${options.maxBytes}-byte cap` }));
    }
    return chunks.push(chunk);
  });
  response.on('end', () => done(undefined, Buffer.concat(chunks).toString('utf8')));
  response.on('error', (error) => done(unavailable(error)));
  // The connection closed before the whole answer arrived (the first of done's calls counts).
  response.on('close', () => { if (!response.complete) done(unavailable(new Error('the answer was cut short'))); });
  return undefined;
}

function describeRequestError(error: unknown, options: ProviderHttpOptions): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${options.timeoutMs} ms`;
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'request failed';
}
