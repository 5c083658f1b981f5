/**
 * The entries a memory logger receives after this call. A test that asserts over a shared app's
 * log sees only what its own actions wrote, not what earlier tests left, so it means the same run
 * alone, in any order, or after a test that was removed.
 */
export function logFromNowOn<Entry>(logger: { entries: Entry[] }): () => Entry[] {
  const start = logger.entries.length;
  return () => logger.entries.slice(start);
}
