import { Agent, request } from 'node:http';
import autocannon, { type AutocannonRequest } from 'autocannon';

export const TOKEN_PATH = '/hivekit-access-token';
/** What the product's client sends; without Sec-Fetch-Site the token route needs it (README: the contract). */
export const TOKEN_HEADERS: Readonly<Record<string, string>> = { 'x-hivekit-bff': '1' };

export interface ThroughputResult {
  requestsPerSecond: number;
  ok: number;
  /** Non-2xx answers, connection errors and timeouts together: any of them voids the round. */
  failures: number;
  statusCodes: Record<string, number>;
  seconds: number;
}

/**
 * Closed-loop saturation with autocannon: `connections` keep-alive connections, one request in
 * flight on each. Cookies rotate over `cookies` round-robin across all connections.
 */
export function measureThroughput(url: string, cookies: readonly string[], options: { connections: number; seconds: number; path?: string }): Promise<ThroughputResult> {
  let next = 0;
  const path = options.path ?? TOKEN_PATH;
  const rotate: AutocannonRequest = {
    method: 'GET',
    path,
    setupRequest: (req) => {
      req.headers = { ...req.headers, ...TOKEN_HEADERS, cookie: cookies[next++ % cookies.length]! };
      return req;
    },
  };
  // One cookie: a fixed request, so autocannon builds it once, as it would for any plain GET.
  const requests: AutocannonRequest[] = cookies.length === 1
    ? [{ method: 'GET', path, headers: { ...TOKEN_HEADERS, cookie: cookies[0]! } }]
    : [rotate];
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: options.connections, duration: options.seconds, requests, timeout: 30 }, (error, result) => {
      if (error) return reject(error);
      const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
      resolve({
        requestsPerSecond: result['2xx'] / result.duration,
        ok: result['2xx'],
        failures: result.non2xx + result.errors + result.timeouts,
        statusCodes,
        seconds: result.duration,
      });
    });
  });
}

export interface PacedSample {
  /** Milliseconds since the run began at which the request was due. */
  dueMs: number;
  /** From the moment the request was written to the end of the response. */
  serviceMs: number;
  /** From the moment it was due: includes any wait for a free socket (no coordinated omission). */
  fromDueMs: number;
  status: number;
}

export interface PacedResult {
  samples: PacedSample[];
  errors: number;
  /** How late the generator itself sent requests: its own noise floor. */
  sendLagP99Ms: number;
}

/**
 * Open-loop load at a fixed rate, evenly spaced. autocannon's overallRate sends each connection's
 * share of a second back to back at the top of every second (all connections at once), which is
 * a burst of `connections` concurrent requests, not a moderate load; latency is measured here.
 */
export async function measurePaced(url: string, cookies: readonly string[], options: {
  ratePerSecond: number; seconds: number; maxSockets: number; timeoutMs?: number;
  /** Checked before each send: true ends the run early (requests in flight still complete). */
  shouldStop?: () => boolean;
}): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const target = new URL(TOKEN_PATH, url);
  let total = Math.round(options.ratePerSecond * options.seconds);
  const intervalMs = 1000 / options.ratePerSecond;
  const samples: PacedSample[] = [];
  const lags: number[] = [];
  let errors = 0;
  let sent = 0;
  let finished = 0;
  const begin = performance.now();

  await new Promise<void>((resolve) => {
    const done = () => { finished += 1; if (finished === total) resolve(); };
    const send = (index: number) => {
      const dueMs = index * intervalMs;
      let written = performance.now();
      const req = request(target, {
        agent, method: 'GET', headers: { ...TOKEN_HEADERS, cookie: cookies[index % cookies.length]! }, timeout: options.timeoutMs ?? 30_000,
      }, (res) => {
        res.resume();
        res.on('end', () => {
          const end = performance.now();
          samples.push({ dueMs, serviceMs: end - written, fromDueMs: end - begin - dueMs, status: res.statusCode ?? 0 });
          done();
        });
      });
      req.on('socket', () => { written = performance.now(); });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => { errors += 1; done(); });
      req.end();
    };
    const tick = () => {
      const now = performance.now() - begin;
      if (options.shouldStop?.()) {
        total = sent;
        if (finished === total) resolve();
        return;
      }
      while (sent < total && sent * intervalMs <= now) {
        lags.push(now - sent * intervalMs);
        send(sent);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, Math.max(0, sent * intervalMs - (performance.now() - begin) - 0.5));
    };
    tick();
  });
  agent.destroy();
  return { samples, errors, sendLagP99Ms: percentile(lags, 99) };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
