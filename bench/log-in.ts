import { createHmac } from 'node:crypto';
import { completeProviderLogin, type Credentials } from '../test/support/oidc-test-provider.ts';
import { CookieJar, hop } from '../test/support/http-hop.ts';

export const SESSION_COOKIE = 'hivekit.sid';

/**
 * One browser login through the real provider, hop by hop: /login, the provider's form, the
 * callback. Returns the Cookie header the browser would send afterwards.
 */
export async function logIn(productUrl: string, credentials: Credentials): Promise<string> {
  const jar = new CookieJar();
  const start = await hop(`${productUrl}/login?returnTo=/`, { jar });
  if (start.status !== 302 || !start.location) throw new Error(`GET /login answered ${start.status}`);
  const { callbackUrl } = await completeProviderLogin(start.location, credentials);
  const finish = await hop(callbackUrl, { jar });
  if (finish.status !== 303 || !jar.get(SESSION_COOKIE)) throw new Error(`the callback answered ${finish.status}: ${finish.text.slice(0, 200)}`);
  return `${SESSION_COOKIE}=${jar.get(SESSION_COOKIE)}`;
}

/** The session id inside a signed express-session cookie (`s:<sid>.<signature>`, URI-encoded). */
export function sessionIdOf(cookieHeader: string): string {
  const value = decodeURIComponent(cookieHeader.slice(cookieHeader.indexOf('=') + 1));
  return value.slice(2, value.lastIndexOf('.'));
}

/**
 * The cookie express-session would have set for `sid` (cookie-signature: HMAC-SHA256, base64
 * without padding), for synthetic rows inserted straight into the table. Every use is checked by
 * a request that must answer 200 with a token.
 */
export function signedSessionCookie(sid: string, secret: string): string {
  const signature = createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return `${SESSION_COOKIE}=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}
