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
const EXPLANATION_URL = '/dev/permissions';
const PERMISSION_LETTERS = /** @type {const} */ ([['C', 'Create'], ['R', 'Read'], ['U', 'Update'], ['D', 'Delete']]);

/** @typedef {import('./hivekit-token-client.js').TokenUser} TokenUser */

/** @param {TokenUser} user */
function displayName(user) {
  return user.name || user.email || user.sub;
}

/** @param {TokenState} state */
function statusText({ status, session, error }) {
  if (session) {
    return `Signed in as ${displayName(session.user)}.${error ? ' Renewal is failing; retrying.' : ''}`;
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

  /** @type {{ sub: string, explanation: any } | null} */
  let explained = null;
  /** @type {string | null} */
  let explainingSub = null;

  const loginError = takeLoginError(window.location, window.history);
  if (loginError) {
    byId('login-error').dataset.errorCode = loginError.code;
    setText('login-error', loginError.message);
    show('login-error-box', true);
  }

  /** @param {TokenState} state */
  function render(state) {
    const previous = latest;
    latest = state;
    const { status, session } = state;

    const signedIn = session !== null;
    byId('status').dataset.state = status;
    if (state.error && signedIn) byId('status').dataset.renewal = 'failing';
    else delete byId('status').dataset.renewal;
    setText('status', statusText(state));

    // Nothing while we do not know yet; when the token route fails the session is unknown and
    // logging in is the one way on that always works.
    show('login-button', !signedIn && status !== 'idle');
    show('switch-user-button', status === 'signed-in' || status === 'user-changed' || status === 'signed-out');
    show('logout-form', signedIn);
    // A sign-in error from before is stale once someone is signed in.
    if (signedIn) show('login-error-box', false);
    if (status === 'user-changed' && state.previousUser && session) renderUserChanged(state.previousUser, session.user);
    if (status === 'signed-out') {
      show('user-changed', false);
      explained = null;
      explainingSub = null;
    }

    renderError(state);
    renderUser(session);
    if ((session?.token ?? null) !== shownToken) renderToken(session);
    shownToken = session?.token ?? null;
    if (session && explainingSub !== session.user.sub) void loadExplanation(session.user.sub);
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

  /** @param {TokenUser} previous @param {TokenUser} now */
  function renderUserChanged(previous, now) {
    const element = byId('user-changed');
    element.dataset.previousSub = previous.sub;
    element.dataset.sub = now.sub;
    setText('user-changed', `You are now signed in as ${displayName(now)}, no longer as ${displayName(previous)}: someone logged in as another user in another tab or window of this browser. This page now shows ${displayName(now)}'s token and permissions.`);
    show('user-changed', true);
  }

  /**
   * Why the token holds what it holds comes from the server's policy evaluation (dev mode's
   * /dev/permissions), never from reading the token here: only the policy knows its rules.
   * @param {string} sub
   */
  async function loadExplanation(sub) {
    explainingSub = sub;
    let note = '';
    try {
      const response = await fetch(EXPLANATION_URL, { headers: { 'X-Hivekit-BFF': '1', Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
      const body = response.status === 200 ? await response.json() : null;
      if (explainingSub !== sub) return;
      if (body && body.sub === sub && body.explanation) explained = { sub, explanation: body.explanation };
      else if (body && body.sub === sub) note = 'No permissions policy is loaded, so the token grants nothing.';
      else if (response.status === 404) note = 'Which rule granted each entry is shown in dev mode only.';
      else note = 'The explanation of these permissions could not be loaded.';
    } catch {
      note = 'The explanation of these permissions could not be loaded.';
    }
    setText('explanation-note', note);
    show('explanation-note', note !== '');
    const claims = latest?.session ? decodeJwt(latest.session.token)?.claims : undefined;
    if (claims) renderPermissions(claims.per);
    renderPolicyInputs();
  }

  function currentExplanation() {
    const sub = latest?.session?.user.sub;
    return explained && explained.sub === sub ? explained.explanation : null;
  }

  function renderPolicyInputs() {
    const explanation = currentExplanation();
    show('policy-inputs-block', explanation !== null);
    if (!explanation) return;
    const claims = byId('policy-claims');
    claims.replaceChildren(...explanation.claims.flatMap((/** @type {{ name: string, value: unknown }} */ claim) => {
      const value = make('dd');
      value.append(make('code', Array.isArray(claim.value) ? claim.value.map(String).join(', ') : String(claim.value)));
      return [make('dt', claim.name), value];
    }));
    const rules = byId('policy-rules');
    rules.replaceChildren(...explanation.rules.map((/** @type {any} */ rule) => {
      const item = make('li', undefined, rule.applies ? 'rule-applies' : 'rule-not-applying');
      item.dataset.rule = rule.rule;
      item.dataset.applies = String(rule.applies);
      item.append(make('span', rule.applies ? 'applies' : 'does not apply', 'rule-verdict'), ' ', make('strong', rule.rule), ' ');
      item.append(rule.description ?? '');
      if (rule.conditions.length > 0) {
        const conditions = make('span', undefined, 'muted rule-conditions');
        conditions.append(' when ', rule.conditions.map((/** @type {any} */ c) => `${c.description} (${c.holds ? 'yes' : 'no'})`).join(' and '));
        item.append(conditions);
      }
      return item;
    }));
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
    const explanation = currentExplanation();
    const body = /** @type {HTMLTableElement} */ (byId('permissions-table')).tBodies[0];
    if (!body) return;
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = make('tr');
        tr.dataset.realm = row.realm;
        tr.dataset.pattern = row.pattern;
        tr.dataset.permissions = row.letters;
        const realm = labelled(make('td', realmLabel(row.realm)), 'Realm');
        const pattern = labelled(make('td'), 'Object id pattern');
        pattern.append(patternCode(row.pattern));
        const allowed = labelled(make('td'), 'Allowed');
        allowed.append(letterChips(row.letters));
        if (row.unknown.length > 0) allowed.append(make('span', ` (and unrecognised: ${row.unknown.join(', ')})`, 'muted'));
        const grantedBy = labelled(make('td', undefined, 'granted-by'), 'Granted by');
        const entry = explanation?.per.find((/** @type {any} */ e) => e.realm === row.realm && e.pattern === row.pattern);
        if (entry) grantedBy.append(grantingRules(entry.grantedBy));
        else grantedBy.append(make('span', '—', 'muted'));
        tr.append(realm, pattern, allowed, grantedBy);
        return tr;
      }),
    );
    show('permissions-table', rows.length > 0);
    show('permissions-empty', rows.length === 0);
  }

  /** @param {HTMLElement} cell @param {string} label */
  function labelled(cell, label) {
    cell.dataset.label = label;
    return cell;
  }

  /** An id pattern that wraps after a `/`, never inside a segment. @param {string} pattern */
  function patternCode(pattern) {
    const code = make('code', undefined, 'pattern');
    pattern.split('/').forEach((segment, index, segments) => {
      code.append(index < segments.length - 1 ? `${segment}/` : segment);
      if (index < segments.length - 1) code.append(make('wbr'));
    });
    return code;
  }

  /** C R U D as four chips, the granted ones filled; read out as the granted names. @param {string} letters */
  function letterChips(letters) {
    const chips = make('span', undefined, 'letters');
    const granted = PERMISSION_LETTERS.filter(([letter]) => letters.includes(letter)).map(([, name]) => name);
    chips.setAttribute('role', 'img');
    chips.setAttribute('aria-label', granted.length > 0 ? granted.join(', ') : 'Nothing');
    chips.dataset.allowed = granted.join(', ');
    for (const [letter, name] of PERMISSION_LETTERS) {
      const chip = make('span', letter, letters.includes(letter) ? 'letter letter-on' : 'letter');
      chip.title = letters.includes(letter) ? name : `no ${name.toLowerCase()}`;
      chips.append(chip);
    }
    return chips;
  }

  /** @param {ReadonlyArray<{ rule: string, description: string | null, letters?: string }>} rules */
  function grantingRules(rules) {
    const list = make('ul', undefined, 'rule-list');
    list.append(...rules.map((rule) => {
      const item = make('li');
      item.dataset.rule = rule.rule;
      if (rule.letters) item.dataset.letters = rule.letters;
      item.append(make('strong', rule.rule));
      if (rule.letters) item.append(' ', make('code', rule.letters));
      if (rule.description) item.append(make('span', ` ${rule.description}`, 'rule-description'));
      return item;
    }));
    return list;
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
    if (next.status === 'user-changed' && next.session && next.previousUser) {
      addLogEntry('user-changed', `User changed: ${displayName(next.previousUser)} → ${displayName(next.session.user)} (a login in another tab or window).`, null);
    } else if (next.session && next.session.token !== before) {
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
