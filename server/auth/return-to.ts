const MAX_RETURN_TO_LENGTH = 2048;
const PROBE_ORIGIN = 'http://return-to.invalid';

/**
 * A `returnTo` is honoured only as a path on this site. Express's res.redirect passes `//evil`,
 * `/\evil` and `javascript:` through unchanged, and browsers drop tabs and newlines before
 * resolving (`/\t/evil` becomes `//evil`), so anything but a plain local path becomes `/`.
 */
export function toLocalPath(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO_LENGTH) return '/';
  if (!value.startsWith('/') || value.startsWith('//')) return '/';
  // Backslashes are slashes to a browser; control characters (C0, DEL, C1) are stripped by it.
  if (/[\\\u0000-\u001f\u007f-\u009f]/.test(value)) return '/';
  let url: URL;
  try {
    url = new URL(value, PROBE_ORIGIN);
  } catch {
    return '/';
  }
  if (url.origin !== PROBE_ORIGIN) return '/';
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Dot segments are resolved above: `/.//evil` becomes `//evil`, protocol-relative again.
  return path.startsWith('//') ? '/' : path;
}
