import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { nanoid } from 'nanoid';
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

export interface TokenSignerOptions {
  secret: Buffer;
  secretId: string;
  issuer: string;
  tenantId: string;
  ttlSeconds: number;
  /** Milliseconds since the epoch; injected so tests control expiry. */
  now?: () => number;
  maxTokenBytes?: number;
}

// RFC 7518 §3.2: HS256 keys are at least 256 bits. jsonwebtoken 9 would sign with a 1-byte key.
const MIN_KEY_BYTES = 32;
const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 86_400;
// Hivekit receives the token in a websocket message, apps often forward it in headers: 8 KiB keeps both safe.
export const DEFAULT_MAX_TOKEN_BYTES = 8192;

export function createTokenSigner(options: TokenSignerOptions) {
  if (options.secret.length < MIN_KEY_BYTES) throw new Error(`HS256 secret must be at least ${MIN_KEY_BYTES} bytes`);
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < MIN_TTL_SECONDS || options.ttlSeconds > MAX_TTL_SECONDS) {
    throw new Error(`token TTL must be an integer in ${MIN_TTL_SECONDS}..${MAX_TTL_SECONDS} seconds`);
  }
  if (!options.secretId) throw new Error('secret id (kid) must not be empty');
  // A KeyObject prepared once: given a Buffer, jsonwebtoken tries to parse it as a PEM key on every sign.
  const key: KeyObject = createSecretKey(options.secret);
  const now = options.now ?? Date.now;
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  // iat comes from the injected clock: jsonwebtoken keeps a payload iat rather than reading Date.now().
  const signOptions: jwt.SignOptions = { algorithm: 'HS256', keyid: options.secretId };

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
      const token = jwt.sign(claims, key, signOptions);
      if (token.length > maxTokenBytes) {
        throw new AppError('token_too_large', { detail: `token of ${token.length} bytes exceeds the cap of ${maxTokenBytes}` });
      }
      return { token, expiresAt: claims.exp, jti: claims.jti };
    },
  };
}

export type TokenSigner = ReturnType<typeof createTokenSigner>;
