// @ts-check
/**
 * The login callback reports failures as `/?login_error=<code>`. The code is shown only through
 * this table: the parameter is attacker-controllable (anyone can send a link), so its text never
 * reaches the page.
 */

/** @type {ReadonlyMap<string, string>} */
const MESSAGES = new Map([
  ['login_expired', 'Your sign-in took too long or was already used. Please log in again.'],
  [
    'state_mismatch',
    'We could not match the sign-in to a login started in this browser. This happens when cookies are blocked or the login was started in another tab. Please log in again.',
  ],
  ['access_denied', 'Sign-in was cancelled or refused, so you are not signed in.'],
  ['provider_unavailable', 'The sign-in service cannot be reached right now. Please try again in a moment.'],
  ['provider_error', 'The sign-in service sent an answer we could not accept. Please try again; if it keeps happening, tell the site owner.'],
  ['login_failed', 'Sign-in did not work. Please try again.'],
]);

/**
 * Reads the login error from the address, then removes it, so a reload or a shared link does not
 * show a stale error.
 * @param {Location} location @param {History} history
 * @returns {{ code: string, message: string } | null}  code is a known code or "unknown"
 */
export function takeLoginError(location, history) {
  const url = new URL(location.href);
  const raw = url.searchParams.get('login_error');
  if (raw === null) return null;
  url.searchParams.delete('login_error');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  const message = MESSAGES.get(raw);
  return message === undefined
    ? { code: 'unknown', message: /** @type {string} */ (MESSAGES.get('login_failed')) }
    : { code: raw, message };
}
