import { createHash, timingSafeEqual } from 'node:crypto';
import type { DemoUser } from './load-demo-users.ts';

/** The demo user these credentials belong to, or undefined; the password comparison takes constant time. */
export function verifyDemoCredentials(users: readonly DemoUser[], username: string, password: string): DemoUser | undefined {
  const user = users.find((candidate) => candidate.username === username);
  // Comparing fixed-length digests lets timingSafeEqual work on passwords of any length, and an
  // unknown username still costs one comparison.
  const expected = digest(user?.password ?? '\u0000no such user');
  const matches = timingSafeEqual(expected, digest(password));
  return matches && user ? user : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
