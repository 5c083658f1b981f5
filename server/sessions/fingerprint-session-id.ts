import { createHash } from 'node:crypto';

/** A session id is a bearer credential: logs carry a short one-way fingerprint instead. */
export function fingerprintSessionId(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url').slice(0, 10);
}
