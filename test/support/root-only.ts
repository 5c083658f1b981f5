import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

/**
 * For a test that needs root (mounting a filesystem): skips with the reason where it cannot run,
 * but fails in CI, which runs as root, so that a broken setup there cannot pass as a skip.
 */
export function cannotRunWithoutRoot(t: TestContext, reason: string, env: Record<string, string | undefined> = process.env): void {
  if (env.CI && env.CI !== 'false' && env.CI !== '0') assert.fail(`${reason}; CI runs as root, so this test must run there, not skip`);
  t.skip(reason);
}
