import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

export interface Sealer {
  /** AES-256-GCM under the first secret's key: `v1.<key id>.<iv>.<ciphertext>.<tag>`, base64url. */
  seal(plaintext: string): string;
  /** The plaintext, or undefined when no secret of the rotation list opens it (or it was altered). */
  open(sealed: unknown): string | undefined;
}

interface SealKey { id: string; key: Buffer }

/**
 * Encryption at rest for the provider's tokens kept in a session record (a refresh token is a
 * long-lived credential: a copy of the database or a Redis dump must not be one). Keys are derived
 * from SESSION_SECRET's rotation list with HKDF (RFC 5869), so rotating the session secret keeps
 * older records readable for as long as the old secret stays in the list.
 */
export function createSealer(secrets: readonly string[]): Sealer {
  if (secrets.length === 0) throw new RangeError('createSealer needs at least one secret');
  const keys: SealKey[] = secrets.map((secret) => {
    const key = Buffer.from(hkdfSync('sha256', secret, 'hivekit-token-bff', 'session-record-seal-v1', 32));
    return { id: createHash('sha256').update(key).digest('base64url').slice(0, 8), key };
  });
  return {
    seal(plaintext) {
      const { id, key } = keys[0]!;
      // NIST SP 800-38D §8.2.2: a random 96-bit IV per message.
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(id));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', id, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed) {
      if (typeof sealed !== 'string') return undefined;
      const [version, id, iv, ciphertext, tag] = sealed.split('.');
      const match = keys.find((candidate) => candidate.id === id);
      if (version !== 'v1' || !match || !iv || ciphertext === undefined || !tag) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', match.key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(match.id));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}
