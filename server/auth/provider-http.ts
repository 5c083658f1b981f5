import { AppError } from '../errors/app-error.ts';

export type ProviderCallOutcome = 'answered' | 'server_error' | 'unavailable' | 'invalid';

export interface ProviderHttpOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Told of every call: the endpoint (discovery, jwks, token, userinfo …), how it went, how long it took. */
  observe?: (endpoint: string, outcome: ProviderCallOutcome, seconds: number) => void;
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
 */
export async function callProvider(
  url: string,
  init: RequestInit,
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
  url: string, init: RequestInit, what: string, options: ProviderHttpOptions, callerSignal: AbortSignal | undefined,
): Promise<ProviderResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal, redirect: 'error' });
  } catch (error) {
    throw new AppError('provider_unavailable', { detail: `${what}: ${describeFetchError(error, options)}`, cause: error });
  }
  const text = await readCapped(response, what, options);
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** For endpoints that must answer 200 with a JSON object. */
export async function fetchProviderJson(url: string, init: RequestInit, what: string, options?: ProviderHttpOptions): Promise<Record<string, unknown>> {
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

async function readCapped(response: Response, what: string, options: ProviderHttpOptions): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    throw new AppError('provider_error', { detail: `${what}: answer of ${declared} bytes exceeds the ${options.maxBytes}-byte cap` });
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > options.maxBytes) {
        await response.body.cancel().catch(() => undefined);
        throw new AppError('provider_error', { detail: `${what}: answer exceeds the ${options.maxBytes}-byte cap` });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('provider_unavailable', { detail: `${what}: ${describeFetchError(error, options)}`, cause: error });
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(error: unknown, options: ProviderHttpOptions): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${options.timeoutMs} ms`;
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'request failed';
}
