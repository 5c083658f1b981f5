/**
 * Production's checks that secrets are neither weak nor used twice. Messages name the setting and
 * what is wrong, never a value.
 */

// A random secret of 32 bytes or characters shows about 30 distinct values, 32 random hex
// characters about 14 (fewer than 8 by chance: odds of 4 in 10^8). Fewer than 8 is a pattern, a
// repeated word or a placeholder.
const MIN_DISTINCT_SYMBOLS = 8;

export interface SecretsToCheck {
  sessionSecrets: readonly string[];
  clientSecret: string;
  hivekitSecretText: string;
  hivekitSecret: Buffer;
  /** Where the Hivekit secret came from, as messages name it (default HIVEKIT_SECRET). */
  hivekitSource?: string;
}

// RFC 4648 §4 alphabet with mandatory padding: "strict" means no URL-safe characters, no whitespace.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// RFC 7518 §3.2: an HS256 key must be at least 256 bits.
export const MIN_HS256_KEY_BYTES = 32;

/** The Hivekit secret's bytes, from HIVEKIT_SECRET or the file's "secret"; `source` names it in problems. */
export function decodeHivekitSecret(value: string, source: string, problems: string[]): Buffer {
  if (!value) return Buffer.alloc(0);
  if (!STRICT_BASE64.test(value)) {
    problems.push(`${source}: not strict base64 (A-Z a-z 0-9 + / with = padding, no spaces or URL-safe characters)`);
    return Buffer.alloc(0);
  }
  const secret = Buffer.from(value, 'base64');
  if (secret.length < MIN_HS256_KEY_BYTES) {
    problems.push(`${source}: decodes to ${secret.length} bytes; HS256 needs at least ${MIN_HS256_KEY_BYTES}`);
  }
  return secret;
}

export function checkSecretStrength(secrets: SecretsToCheck, problems: string[]): void {
  const hivekitDistinct = new Set(secrets.hivekitSecret).size;
  if (secrets.hivekitSecret.length > 0 && hivekitDistinct < MIN_DISTINCT_SYMBOLS) {
    problems.push(`${secrets.hivekitSource ?? 'HIVEKIT_SECRET'}: decodes to only ${plural(hivekitDistinct, 'distinct byte value')}; expected a random key (at least ${MIN_DISTINCT_SYMBOLS} distinct byte values), e.g. openssl rand -base64 32`);
  }
  secrets.sessionSecrets.forEach((secret, index) => {
    const distinct = new Set(secret).size;
    if (secret && distinct < MIN_DISTINCT_SYMBOLS) {
      problems.push(`SESSION_SECRET: secret #${index + 1} has only ${plural(distinct, 'distinct character')}; expected a random string (at least ${MIN_DISTINCT_SYMBOLS} distinct characters), e.g. openssl rand -base64 32`);
    }
  });
}

/** Each secret has one job: the provider sees the client secret, and a leak of one must not give away another. */
export function checkSecretReuse(secrets: SecretsToCheck, problems: string[]): void {
  const hivekitSource = secrets.hivekitSource ?? 'HIVEKIT_SECRET';
  const isHivekitSecret = (value: string) => value !== '' && secrets.hivekitSecret.length > 0
    && (value === secrets.hivekitSecretText || Buffer.from(value, 'base64').equals(secrets.hivekitSecret));
  secrets.sessionSecrets.forEach((secret, index) => {
    if (secret && secret === secrets.clientSecret) problems.push(`SESSION_SECRET: secret #${index + 1} is also OIDC_CLIENT_SECRET; use a separate random secret for each`);
    if (isHivekitSecret(secret)) problems.push(`SESSION_SECRET: secret #${index + 1} is also ${hivekitSource}; use a separate random secret for each`);
  });
  if (isHivekitSecret(secrets.clientSecret)) {
    problems.push(`OIDC_CLIENT_SECRET: is also ${hivekitSource}, so the provider would hold the token signing key; register a separate client secret`);
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
