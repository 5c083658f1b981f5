import { createHash, createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';

/** The private key that signs private_key_jwt client assertions (RFC 7523 §2.2), from OIDC_CLIENT_KEY_FILE. */
export interface ClientKey {
  /** Private JWK as Node exports it: plain data, so the config that holds it can be frozen. */
  readonly jwk: JsonWebKey;
  readonly kid: string;
  readonly alg: string;
  /** A certificate thumbprint from the JWK file, sent in the assertion's header (Entra ID identifies the key by it). */
  readonly x5t?: { readonly 'x5t#S256'?: string; readonly x5t?: string };
}

const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
// RFC 7518 §3.4: the curve fixes the algorithm.
const EC_ALGS: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
// RFC 7518 §3.3: RSA keys of at least 2048 bits.
const MIN_RSA_BITS = 2048;

/**
 * Reads a PEM private key (PKCS#8, PKCS#1 or SEC1) or a private JWK. The JWK's `alg`, `kid` and
 * certificate thumbprints (`x5t#S256`, `x5t`) are kept; otherwise RSA signs RS256, EC by its curve, and the kid is the RFC 7638 thumbprint (what
 * the provider is told when the public key is registered with it). Throws an Error whose message
 * says what is wrong with the file, never its contents.
 */
export function parseClientKey(text: string): ClientKey {
  const source = text.trim();
  let declared: { kid?: unknown; alg?: unknown; x5t?: unknown; 'x5t#S256'?: unknown } = {};
  let key: KeyObject;
  if (source.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(source);
    } catch {
      throw new Error('is neither a PEM private key nor valid JSON');
    }
    if (typeof jwk !== 'object' || jwk === null || typeof (jwk as { d?: unknown }).d !== 'string') {
      throw new Error('is a JSON value but not a private JWK (no "d")');
    }
    declared = jwk as typeof declared;
    key = importKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } else {
    key = importKey(source);
  }
  const alg = algorithmFor(key, declared.alg);
  const jwk = key.export({ format: 'jwk' });
  const kid = typeof declared.kid === 'string' && declared.kid !== '' ? declared.kid : thumbprint(jwk);
  const x5t = Object.fromEntries((['x5t#S256', 'x5t'] as const).filter((name) => typeof declared[name] === 'string').map((name) => [name, declared[name] as string]));
  return Object.keys(x5t).length > 0 ? { jwk, kid, alg, x5t } : { jwk, kid, alg };
}

function importKey(input: Parameters<typeof createPrivateKey>[0]): KeyObject {
  try {
    return createPrivateKey(input);
  } catch (error) {
    const passphrase = /passphrase/i.test((error as Error).message);
    throw new Error(passphrase ? 'holds an encrypted key; store it unencrypted with owner-only permissions'
      : 'is not a private key in PEM (PKCS#8, PKCS#1, SEC1) or JWK form');
  }
}

function algorithmFor(key: KeyObject, declared: unknown): string {
  if (declared !== undefined && typeof declared !== 'string') throw new Error('has an "alg" that is not a string');
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new Error(`holds an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are needed`);
    if (declared === undefined) return 'RS256';
    if (RSA_ALGS.includes(declared)) return declared;
    throw new Error(`holds an RSA key with "alg" ${JSON.stringify(declared)}; expected one of ${RSA_ALGS.join(', ')}`);
  }
  if (key.asymmetricKeyType === 'ec') {
    const alg = EC_ALGS[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!alg) throw new Error('holds an EC key on a curve other than P-256, P-384 or P-521');
    if (declared !== undefined && declared !== alg) throw new Error(`holds an EC key for ${alg} with "alg" ${JSON.stringify(declared)}`);
    return alg;
  }
  if (key.asymmetricKeyType === 'rsa-pss') {
    throw new Error('holds an RSA-PSS-only key; use a plain RSA key (a JWK file with "alg": "PS256" signs PS256)');
  }
  throw new Error(`holds a ${key.asymmetricKeyType ?? 'symmetric'} key; expected RSA (2048 bits or more) or EC (P-256, P-384, P-521)`);
}

/** RFC 7638 §3.2: the required members in lexicographic order, SHA-256, base64url. */
function thumbprint(jwk: JsonWebKey): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
