import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { nanoid } from 'nanoid';
import type { HivekitKey } from '../config/hivekit-secret-file.ts';
import { AppError } from '../errors/app-error.ts';

export type Permissions = Record<string, Record<string, string>>;
export type DataProviderLinks = Record<string, string[]>;

export interface HivekitClaims {
  tnd: string;
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  per: Permissions;
  dpv: DataProviderLinks;
}

export interface MintedToken {
  token: string;
  expiresAt: number;
  jti: string;
}

/** The key in force: fixed (HIVEKIT_SECRET) or the secret file's latest good contents. */
export interface HivekitKeySource {
  current(): HivekitKey;
}

export function fixedKey(key: HivekitKey): HivekitKeySource {
  return { current: () => key };
}

export interface TokenSignerOptions {
  /** Read at each mint, so a rotated key signs from the next token on. */
  keys: HivekitKeySource;
  issuer: string;
  tenantId: string;
  ttlSeconds: number;
  /** Milliseconds since the epoch; injected so tests control expiry. */
  now?: () => number;
  maxTokenBytes?: number;
}

// RFC 7518 §3.2: HS256 keys are at least 256 bits (jsonwebtoken 9, which tests verify with, would sign with a 1-byte key).
const MIN_KEY_BYTES = 32;
const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 86_400;
// Hivekit receives the token in a websocket message, apps often forward it in headers: 8 KiB keeps both safe.
export const DEFAULT_MAX_TOKEN_BYTES = 8192;

export function createTokenSigner(options: TokenSignerOptions) {
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < MIN_TTL_SECONDS || options.ttlSeconds > MAX_TTL_SECONDS) {
    throw new Error(`token TTL must be an integer in ${MIN_TTL_SECONDS}..${MAX_TTL_SECONDS} seconds`);
  }
  const now = options.now ?? Date.now;
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  let prepared: { source: HivekitKey; key: KeyObject; encodedHeader: string } | undefined;
  const prepare = (source: HivekitKey) => {
    if (source.secret.length < MIN_KEY_BYTES) throw new Error(`HS256 secret must be at least ${MIN_KEY_BYTES} bytes`);
    if (!source.kid) throw new Error('secret id (kid) must not be empty');
    // The header and the KeyObject are the same for every token of a key: made once per key.
    const header = { alg: 'HS256', typ: 'JWT', kid: source.kid };
    return { source, key: createSecretKey(source.secret), encodedHeader: Buffer.from(JSON.stringify(header)).toString('base64url') };
  };
  const currentKey = () => {
    const source = options.keys.current();
    if (prepared?.source !== source) prepared = prepare(source);
    return prepared;
  };
  currentKey();

  return {
    mint(subject: string, per: Permissions, dpv: DataProviderLinks): MintedToken {
      const iat = Math.floor(now() / 1000);
      const claims: HivekitClaims = {
        tnd: options.tenantId,
        iss: options.issuer,
        sub: subject,
        iat,
        exp: iat + options.ttlSeconds,
        jti: nanoid(),
        per,
        dpv,
      };
      const { key, encodedHeader } = currentKey();
      const token = signHs256(encodedHeader, claims, key);
      if (token.length > maxTokenBytes) {
        throw new AppError('token_too_large', { detail: `token of ${token.length} bytes exceeds the cap of ${maxTokenBytes}` });
      }
      return { token, expiresAt: claims.exp, jti: claims.jti };
    },
  };
}

export type TokenSigner = ReturnType<typeof createTokenSigner>;

/**
 * A JWS in compact serialization with HMAC-SHA256 (RFC 7515 §7.1, RFC 7518 §3.2): base64url without
 * padding of the header and of the claims' JSON, then of the MAC over both. Written out rather than
 * jsonwebtoken's sign, which validates and copies its options and claims on every call: 19 µs of the
 * token route's 236 µs under load (docs/BENCHMARKS.md, section 8), where this takes a quarter of that.
 * Tests verify its tokens with jsonwebtoken and with jose.
 */
function signHs256(encodedHeader: string, claims: HivekitClaims, key: KeyObject): string {
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
}
