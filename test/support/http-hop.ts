import { CookieJar } from './cookie-jar.ts';

export interface Hop {
  status: number;
  location: string | undefined;
  headers: Headers;
  text: string;
  json: unknown;
}

/**
 * One HTTP request without following redirects, cookies kept in `jar`, like one hop of a browser.
 * It sends `X-Hivekit-BFF: 1`, as the product's browser client does and the README asks of every
 * non-browser caller of the token route; `bffHeader: false` leaves it out.
 */
export async function hop(url: string, options: { jar?: CookieJar; method?: string; headers?: Record<string, string>; body?: string; bffHeader?: boolean } = {}): Promise<Hop> {
  const headers: Record<string, string> = { ...(options.bffHeader === false ? {} : { 'x-hivekit-bff': '1' }), ...options.headers };
  const cookie = options.jar?.header();
  if (cookie) headers.cookie = cookie;
  const response = await fetch(url, { method: options.method ?? 'GET', headers, body: options.body, redirect: 'manual' });
  options.jar?.store(response.headers.getSetCookie());
  const text = await response.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  const location = response.headers.get('location') ?? undefined;
  return { status: response.status, location: location === undefined ? undefined : new URL(location, url).toString(), headers: response.headers, text, json };
}

export { CookieJar };
