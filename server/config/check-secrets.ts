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
}

export function checkSecretStrength(secrets: SecretsToCheck, problems: string[]): void {
  const hivekitDistinct = new Set(secrets.hivekitSecret).size;
  if (secrets.hivekitSecret.length > 0 && hivekitDistinct < MIN_DISTINCT_SYMBOLS) {
    problems.push(`HIVEKIT_SECRET: decodes to only ${plural(hivekitDistinct, 'distinct byte value')}; expected a random key (at least ${MIN_DISTINCT_SYMBOLS} distinct byte values), e.g. openssl rand -base64 32`);
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
  const isHivekitSecret = (value: string) => value !== '' && secrets.hivekitSecret.length > 0
    && (value === secrets.hivekitSecretText || Buffer.from(value, 'base64').equals(secrets.hivekitSecret));
  secrets.sessionSecrets.forEach((secret, index) => {
    if (secret && secret === secrets.clientSecret) problems.push(`SESSION_SECRET: secret #${index + 1} is also OIDC_CLIENT_SECRET; use a separate random secret for each`);
    if (isHivekitSecret(secret)) problems.push(`SESSION_SECRET: secret #${index + 1} is also HIVEKIT_SECRET; use a separate random secret for each`);
  });
  if (isHivekitSecret(secrets.clientSecret)) {
    problems.push('OIDC_CLIENT_SECRET: is also HIVEKIT_SECRET, so the provider would hold the token signing key; register a separate client secret');
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
