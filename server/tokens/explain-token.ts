import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';

export interface TokenExpectations {
  secret: Buffer;
  secretId: string;
  tenantId: string;
  issuer: string;
  /** Seconds since the epoch. */
  now: number;
}

export interface TokenFinding {
  ok: boolean;
  /** The part of the token (a header field, a claim, the signature). */
  part: string;
  text: string;
}

// Hivekit's clock and ours may differ a little; beyond this an iat in the future is an error.
const CLOCK_LEEWAY_SECONDS = 5;

/**
 * Decodes a Hivekit token and says, part by part, whether Hivekit will take it with this
 * configuration: what `npm run token -- verify` prints when Hivekit refuses a token.
 */
export function explainToken(token: string, expected: TokenExpectations): TokenFinding[] {
  const decoded = jwt.decode(token.trim(), { complete: true });
  if (!decoded || typeof decoded.payload === 'string') {
    return [{ ok: false, part: 'token', text: 'not a JWT (three base64url parts, a JSON header and payload)' }];
  }
  const { header } = decoded;
  const claims = decoded.payload as Record<string, unknown>;
  const findings: TokenFinding[] = [];
  const add = (ok: boolean, part: string, text: string) => findings.push({ ok, part, text });

  add(header.alg === 'HS256', 'alg', header.alg === 'HS256' ? 'HS256 (HMAC with the shared Hivekit secret)' : `${header.alg}: Hivekit takes HS256 only`);
  add(header.kid === expected.secretId, 'kid', header.kid === expected.secretId
    ? `${header.kid}: the configured HIVEKIT_SECRET_ID; Hivekit finds the secret by it`
    : `${String(header.kid)}: not the configured HIVEKIT_SECRET_ID (${expected.secretId}); Hivekit verifies with the secret it knows under this kid`);
  let signatureOk = false;
  try {
    jwt.verify(token.trim(), createSecretKey(expected.secret), { algorithms: ['HS256'], ignoreExpiration: true });
    signatureOk = true;
  } catch { /* reported below */ }
  add(signatureOk, 'signature', signatureOk
    ? 'valid with the configured HIVEKIT_SECRET'
    : 'does not verify with the configured HIVEKIT_SECRET: signed with another secret (an old one after a rotation?) or altered');
  add(claims.tnd === expected.tenantId, 'tnd', claims.tnd === expected.tenantId
    ? `${expected.tenantId}: the tenant (HIVEKIT_TENANT_ID)` : `${JSON.stringify(claims.tnd)}: expected HIVEKIT_TENANT_ID ${expected.tenantId}`);
  add(claims.iss === expected.issuer, 'iss', claims.iss === expected.issuer
    ? `${expected.issuer}: the issuer Hivekit expects (HIVEKIT_ISSUER)` : `${JSON.stringify(claims.iss)}: expected HIVEKIT_ISSUER ${expected.issuer}`);
  add(typeof claims.sub === 'string' && claims.sub !== '', 'sub', typeof claims.sub === 'string' && claims.sub !== ''
    ? `${claims.sub}: the user (the provider's subject)` : 'missing: every token names its user');
  const iat = typeof claims.iat === 'number' ? claims.iat : undefined;
  const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
  add(iat !== undefined && iat <= expected.now + CLOCK_LEEWAY_SECONDS, 'iat', iat === undefined ? 'missing'
    : `${new Date(iat * 1000).toISOString()}${iat > expected.now + CLOCK_LEEWAY_SECONDS ? ': in the future; the minting machine\'s clock is ahead' : ''}`);
  add(exp !== undefined && exp > expected.now, 'exp', exp === undefined ? 'missing'
    : exp > expected.now ? `${new Date(exp * 1000).toISOString()} (valid ${exp - expected.now} s more${iat === undefined ? '' : `, lifetime ${exp - iat} s`})`
      : `${new Date(exp * 1000).toISOString()}: expired ${expected.now - exp} s ago; the page must fetch a new token`);
  add(typeof claims.jti === 'string' && claims.jti !== '', 'jti', typeof claims.jti === 'string' ? `${claims.jti}: unique per token` : 'missing');
  const per = isObject(claims.per) ? claims.per : undefined;
  add(per !== undefined, 'per', per === undefined ? 'missing or not an object'
    : Object.keys(per).length === 0 ? 'no realm: the token grants nothing (no policy, or no rule matched this user)'
      : Object.entries(per).map(([realm, grants]) => `${realm}: ${isObject(grants) ? Object.entries(grants).map(([id, letters]) => `${id}=${String(letters)}`).join(', ') : '?'}`).join('; '));
  const dpv = isObject(claims.dpv) ? claims.dpv : undefined;
  add(dpv !== undefined, 'dpv', dpv === undefined ? 'missing or not an object'
    : Object.keys(dpv).length === 0 ? 'no data-provider links' : Object.entries(dpv).map(([realm, links]) => `${realm}: ${JSON.stringify(links)}`).join('; '));
  return findings;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
