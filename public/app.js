// @ts-check
/**
 * The demo page: shows who is signed in and the Hivekit token the client keeps fresh. Every value
 * from the server or the token goes in through textContent or setAttribute, never as HTML: names,
 * emails and permission patterns come from the identity provider and are data, not markup.
 */
import { createTokenClient } from './hivekit-token-client.js';
import { takeLoginError } from './login-error.js';
import { decodeJwt, describeDataProviders, describePermissions, formatCountdown, realmLabel } from './token-view.js';

/** @typedef {import('./hivekit-token-client.js').TokenState} TokenState */
/** @typedef {import('./hivekit-token-client.js').TokenSession} TokenSession */

const LOG_LIMIT = 20;

/** @param {TokenState} state */
function statusText({ status, session, error }) {
  if (session) {
    const who = session.user.name || session.user.email || session.user.sub;
    return `Signed in as ${who}.${error ? ' Renewal is failing; retrying.' : ''}`;
  }
  if (status === 'signed-out') return 'Signed out.';
  if (status === 'idle') return 'Checking your session…';
  return 'Could not get a token, so your session state is unknown.';
}

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element;
}

/** @param {string} id @param {string} text */
function setText(id, text) {
  const element = byId(id);
  if (element.textContent !== text) element.textContent = text;
}

/** @param {string} id @param {boolean} visible */
function show(id, visible) {
  byId(id).hidden = !visible;
}

/** @param {number} ms */
function clockTime(ms) {
  return new Date(ms).toLocaleTimeString();
}

/** @param {string} tag @param {string} [text] @param {string} [className] */
function make(tag, text, className) {
  const element = document.createElement(tag);
  if (text !== undefined) element.textContent = text;
  if (className) element.className = className;
  return element;
}

function startDemo() {
  const client = createTokenClient();
  /** @type {TokenState | null} */
  let latest = null;
  /** @type {string | null} */
  let shownToken = null;

  const loginError = takeLoginError(window.location, window.history);
  if (loginError) {
    byId('login-error').dataset.errorCode = loginError.code;
    setText('login-error', loginError.message);
    show('login-error', true);
  }

  /** @param {TokenState} state */
  function render(state) {
    const previous = latest;
    latest = state;
    const { status, session } = state;

    byId('status').dataset.state = status;
    setText('status', statusText(state));

    // When the token route fails we cannot tell whether a session exists, so offer both ways out.
    show('login-button', status !== 'signed-in' && status !== 'idle');
    show('logout-form', status === 'signed-in' || status === 'error');

    renderError(state);
    renderUser(session);
    if ((session?.token ?? null) !== shownToken) renderToken(session);
    shownToken = session?.token ?? null;
    logTransition(previous, state);
    tick();
  }

  /** @param {TokenState} state */
  function renderError({ error, retryAt }) {
    const element = byId('error-message');
    if (!error) {
      show('error-message', false);
      delete element.dataset.errorCode;
      return;
    }
    element.dataset.errorCode = error.code;
    setText('error-message', retryAt === null ? error.message : `${error.message} Retrying automatically.`);
    show('error-message', true);
  }

  /** @param {TokenSession | null} session */
  function renderUser(session) {
    show('user', session !== null);
    setText('user-name', session?.user.name ?? '—');
    setText('user-email', session?.user.email ?? '—');
    setText('user-sub', session?.user.sub ?? '');
  }

  /** @param {TokenSession | null} session */
  function renderToken(session) {
    const decoded = session ? decodeJwt(session.token) : null;
    for (const id of ['token-section', 'permissions-section', 'dpv-section', 'decoded-section']) {
      show(id, session !== null);
    }
    if (!session) return;
    const claims = decoded?.claims ?? {};
    setText('token-jti', typeof claims.jti === 'string' ? claims.jti : 'not present');
    setText('token-kid', typeof decoded?.header.kid === 'string' ? decoded.header.kid : 'not present');
    setText('token-tnd', typeof claims.tnd === 'string' ? claims.tnd : 'not present');
    setText('expires-at', clockTime(session.localExpiresAt));
    setText('token-header', decoded ? JSON.stringify(decoded.header, null, 2) : 'The token could not be decoded.');
    setText('token-claims', decoded ? JSON.stringify(decoded.claims, null, 2) : 'The token could not be decoded.');
    renderPermissions(claims.per);
    renderDataProviders(claims.dpv);
  }

  /** @param {unknown} per */
  function renderPermissions(per) {
    const rows = describePermissions(per);
    const body = /** @type {HTMLTableElement} */ (byId('permissions-table')).tBodies[0];
    if (!body) return;
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = make('tr');
        tr.dataset.realm = row.realm;
        tr.dataset.pattern = row.pattern;
        tr.dataset.permissions = row.letters;
        const pattern = make('td');
        pattern.append(make('code', row.pattern));
        const allowed = make('td', row.granted.length > 0 ? row.granted.join(', ') : 'Nothing');
        if (row.unknown.length > 0) allowed.append(make('span', ` (and unrecognised: ${row.unknown.join(', ')})`, 'muted'));
        tr.append(make('td', realmLabel(row.realm)), pattern, allowed);
        return tr;
      }),
    );
    show('permissions-table', rows.length > 0);
    show('permissions-empty', rows.length === 0);
  }

  /** @param {unknown} dpv */
  function renderDataProviders(dpv) {
    const rows = describeDataProviders(dpv);
    const body = /** @type {HTMLTableElement} */ (byId('dpv-table')).tBodies[0];
    if (!body) return;
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = make('tr');
        tr.dataset.realm = row.realm;
        const ids = make('td');
        const list = make('ul', undefined, 'id-list');
        list.append(...row.objectIds.map((id) => {
          const item = make('li');
          item.append(make('code', id));
          return item;
        }));
        ids.append(row.objectIds.length > 0 ? list : make('span', 'None', 'muted'));
        tr.append(make('td', realmLabel(row.realm)), ids);
        return tr;
      }),
    );
    show('dpv-table', rows.length > 0);
    show('dpv-empty', rows.length === 0);
  }

  /** @param {TokenState | null} previous @param {TokenState} next */
  function logTransition(previous, next) {
    const before = previous?.session?.token ?? null;
    if (next.session && next.session.token !== before) {
      const jti = decodeJwt(next.session.token)?.claims.jti;
      const kind = before === null ? 'first' : 'renewed';
      addLogEntry(kind, `${kind === 'first' ? 'Token received' : 'Token renewed'}, expires ${clockTime(next.session.localExpiresAt)}`, typeof jti === 'string' ? jti : null);
    } else if (next.status === 'signed-out' && previous?.status !== 'signed-out') {
      addLogEntry('signed-out', 'Signed out: no token.', null);
    } else if (next.error && next.error !== previous?.error) {
      const when = next.retryAt === null ? 'not retrying' : `retrying in ${Math.ceil((next.retryAt - Date.now()) / 1000)} s`;
      addLogEntry('error', `Request failed (${next.error.code}), ${when}.`, null);
    }
  }

  /** @param {string} kind @param {string} text @param {string | null} jti */
  function addLogEntry(kind, text, jti) {
    const log = byId('renewal-log');
    const item = make('li', undefined, `log-${kind}`);
    item.dataset.kind = kind;
    const time = make('time', clockTime(Date.now()));
    time.setAttribute('datetime', new Date().toISOString());
    item.append(time, ` ${text}`);
    if (jti !== null) {
      item.dataset.jti = jti;
      item.append(' jti ', make('code', jti));
    }
    log.prepend(item);
    while (log.children.length > LOG_LIMIT) log.lastElementChild?.remove();
  }

  function tick() {
    const session = latest?.session ?? null;
    const now = Date.now();
    if (session) {
      const remaining = session.localExpiresAt - now;
      const countdown = byId('expiry-countdown');
      countdown.dataset.seconds = String(Math.max(0, Math.ceil(remaining / 1000)));
      setText('expiry-countdown', remaining > 0 ? formatCountdown(remaining) : 'expired');
      setText('renews-in', session.renewAt > now ? `in about ${formatCountdown(session.renewAt - now)} (with jitter)` : 'now');
    }
    const retryAt = latest?.retryAt ?? null;
    show('retry-info', retryAt !== null);
    if (retryAt !== null) setText('retry-info', `Next attempt in ${Math.max(0, Math.ceil((retryAt - now) / 1000))} s.`);
  }

  client.onChange(render);
  // Failures arrive through onChange as state; nothing more to do with the rejection here.
  client.getToken().catch(() => {});
  setInterval(tick, 1000);
  // Background tabs get throttled timers; on return, renew at once if it is due (and notice a
  // login made in another tab).
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') client.getToken().catch(() => {});
  });
}

startDemo();
