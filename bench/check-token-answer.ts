import jwt from 'jsonwebtoken';
import { TOKEN_HEADERS, TOKEN_PATH } from './load.ts';

/** The product's answer must be a real token for the session's user, signed with the configured secret. */
export async function checkTokenAnswer(url: string, cookie: string, hivekitSecret: string, sub: string) {
  const response = await fetch(`${url}${TOKEN_PATH}`, { headers: { ...TOKEN_HEADERS, cookie } });
  const text = await response.text();
  const body = JSON.parse(text) as { authenticated: boolean; token: string; user: { sub: string } };
  if (response.status !== 200 || !body.authenticated || body.user.sub !== sub) throw new Error(`token route answered ${response.status}: ${text.slice(0, 200)}`);
  const claims = jwt.verify(body.token, Buffer.from(hivekitSecret, 'base64'), { algorithms: ['HS256'] }) as { sub: string };
  if (claims.sub !== sub) throw new Error(`token for ${claims.sub}, expected ${sub}`);
  return { body, bytes: Buffer.byteLength(text) };
}

/** The bare route's body: the product's own answer with the token replaced by filler of the same length. */
export function bareBodyLike(body: { token: string }): string {
  return JSON.stringify({ ...body, token: 'x'.repeat(body.token.length) });
}
