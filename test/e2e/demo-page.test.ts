import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { PROJECT_ROOT } from '../support/start-product.ts';
import {
  demoUser, fetchTokenRouteFromPage, logInThroughPage, readClaims, readDataProviderTable, readPermissionsTable, startDemoStack,
  waitForState, type DemoStack, type PermissionRowView,
} from './demo-page-driver.ts';

const RESULTS_DIR = join(PROJECT_ROOT, 'test-results');
const SCREENSHOT_FILE = join(RESULTS_DIR, 'demo-page.png');
const CRUD = 'Create, Read, Update, Delete';

// From policy.example.json, as `npm run policy -- explain --claims ...` reports it for each user.
const ALICE_PERMISSIONS: PermissionRowView[] = [
  { realm: '*', pattern: 'status/*', letters: 'R', allowed: 'Read' },
  { realm: 'london', pattern: 'deliveries/*', letters: 'CRUD', allowed: CRUD },
  { realm: 'london', pattern: 'deliveries/alice/*', letters: 'RU', allowed: 'Read, Update' },
  { realm: 'london', pattern: 'riders/*', letters: 'RU', allowed: 'Read, Update' },
  { realm: 'london', pattern: 'riders/alice', letters: 'CRUD', allowed: CRUD },
];
const BOB_PERMISSIONS: PermissionRowView[] = [
  { realm: 'london', pattern: 'deliveries/bob/*', letters: 'RU', allowed: 'Read, Update' },
  { realm: 'london', pattern: 'riders/*', letters: 'R', allowed: 'Read' },
  { realm: 'london', pattern: 'riders/bob', letters: 'CRUD', allowed: CRUD },
];

describe('demo page in Chromium against `npm start` in dev mode', () => {
  let stack: DemoStack;
  /** The page where the CSP test breaks the policy on purpose; its reports are expected. */
  let probePage: Page | undefined;
  before(async () => { stack = await startDemoStack(); });
  after(async () => { await stack?.close(); });

  it('alice logs in through the provider and the page shows her dispatcher permissions and her dpv', async () => {
    const { page } = await stack.newPage();
    await logInThroughPage(stack, page, demoUser('alice'));

    assert.equal(await page.getByTestId('status').textContent(), 'Signed in as Alice Example.');
    assert.equal(await page.getByTestId('user-name').textContent(), 'Alice Example');
    assert.equal(await page.getByTestId('user-email').textContent(), 'alice@example.com');
    assert.equal(await page.getByTestId('user-sub').textContent(), 'alice');
    assert.deepEqual(await readPermissionsTable(page), ALICE_PERMISSIONS);
    assert.equal(await page.locator('[data-testid="permissions-table"] tr[data-realm="*"] td').first().textContent(), 'All realms (*)');
    assert.deepEqual(await readDataProviderTable(page), { london: ['riders/alice'] });
    const claims = await readClaims(page);
    assert.equal(claims.sub, 'alice');
    assert.equal(await page.getByTestId('token-jti').textContent(), claims.jti);
    assert.ok(await page.getByTestId('logout-button').isVisible());
    assert.ok(await page.getByTestId('login-button').isHidden());

    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: SCREENSHOT_FILE, fullPage: true, animations: 'disabled' });
  });

  it('bob, in a fresh browser profile, sees only his rider permissions and is the data provider for riders/bob only', async () => {
    const { page } = await stack.newPage();
    await logInThroughPage(stack, page, demoUser('bob'));

    assert.equal(await page.getByTestId('status').textContent(), 'Signed in as Bob Example.');
    assert.equal(await page.getByTestId('user-sub').textContent(), 'bob');
    const rows = await readPermissionsTable(page);
    assert.deepEqual(rows, BOB_PERMISSIONS);
    assert.ok(!rows.some((row) => row.pattern === 'deliveries/*' || row.realm === '*'), 'no dispatcher rights for a rider');
    assert.deepEqual(await readDataProviderTable(page), { london: ['riders/bob'] });
    assert.equal((await readClaims(page)).sub, 'bob');
  });

  it('log out ends the provider\'s session too without asking and comes back; the page shows signed out and the token route answers 401', async () => {
    const { page } = await stack.newPage();
    await logInThroughPage(stack, page, demoUser('carol'));
    assert.equal((await fetchTokenRouteFromPage(page)).status, 200, 'signed in before logging out');

    const navigations: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations.push(new URL(frame.url()).origin + new URL(frame.url()).pathname);
    });
    await page.getByTestId('logout-button').click();
    await page.waitForURL((address) => address.origin === stack.url && address.pathname === '/');
    await waitForState(page, 'signed-out');

    // The provider's page submits itself (no question); the browser passes through it and its confirm step.
    assert.deepEqual(navigations, [`${stack.providerUrl}/session/end`, `${stack.url}/`]);
    assert.equal(await page.getByTestId('status').textContent(), 'Signed out.');
    assert.ok(await page.getByTestId('login-button').isVisible());
    assert.ok(await page.getByTestId('logout-form').isHidden());
    assert.ok(await page.getByTestId('user').isHidden());
    assert.ok(await page.locator('#token-section').isHidden());
    assert.deepEqual(await fetchTokenRouteFromPage(page), { status: 401, body: { authenticated: false } });

    // The provider's session ended too: logging in again asks for the password.
    await page.getByTestId('login-button').click();
    await page.waitForURL((address) => address.origin === stack.providerUrl && address.pathname.startsWith('/interaction/'));
    assert.ok(await page.getByLabel('Password').isVisible());
  });

  it('a provider callback delivered to a browser that did not start the login shows a readable message and drops login_error from the address', async () => {
    const starter = await stack.newPage();
    // The starting browser never delivers the callback: the request is answered here instead.
    const callbackPattern = `${stack.url}/oauth2/redirect?**`;
    await starter.page.route(callbackPattern, (route) => route.fulfill({ status: 204 }));
    await starter.page.goto(`${stack.url}/`);
    await starter.page.getByTestId('login-button').click();
    await starter.page.getByLabel('Username').fill(demoUser('alice').username);
    await starter.page.getByLabel('Password').fill(demoUser('alice').password);
    const [callback] = await Promise.all([
      starter.page.waitForRequest(callbackPattern),
      starter.page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
    const callbackUrl = callback.url();
    assert.match(callbackUrl, /[?&]code=/, 'the provider issued a code');

    const other = await stack.newPage();
    const response = await other.page.goto(callbackUrl);
    const redirectedFrom = response?.request().redirectedFrom();
    assert.equal(redirectedFrom?.url(), callbackUrl);
    assert.equal(response?.url(), `${stack.url}/?login_error=state_mismatch`);
    await waitForState(other.page, 'signed-out');

    const message = other.page.getByTestId('login-error');
    assert.ok(await message.isVisible());
    assert.equal(await message.getAttribute('data-error-code'), 'state_mismatch');
    assert.match(await message.textContent() ?? '', /could not match the sign-in to a login started in this browser/);
    assert.doesNotMatch(await other.page.locator('main').innerText(), /state_mismatch/);
    assert.equal(other.page.url(), `${stack.url}/`);
  });

  it('cancelling at the provider comes back as a readable "cancelled" message, not an error code', async () => {
    const { page } = await stack.newPage();
    await page.goto(`${stack.url}/`);
    await page.getByTestId('login-button').click();
    await page.getByRole('button', { name: 'Cancel and go back' }).click();
    await page.waitForURL(`${stack.url}/`);
    await waitForState(page, 'signed-out');

    const message = page.getByTestId('login-error');
    assert.equal(await message.getAttribute('data-error-code'), 'access_denied');
    assert.equal(await message.textContent(), 'Sign-in was cancelled or refused, so you are not signed in.');
  });

  it('a login_error parameter someone else wrote is never shown as text or markup', async () => {
    const { page } = await stack.newPage();
    await page.goto(`${stack.url}/?login_error=${encodeURIComponent('<b id="injected">Call +1 555 0100 now</b>')}&keep=1`);
    await waitForState(page, 'signed-out');

    assert.equal(await page.getByTestId('login-error').textContent(), 'Sign-in did not work. Please try again.');
    assert.equal(await page.locator('#injected').count(), 0);
    assert.doesNotMatch(await page.locator('body').innerText(), /555 0100/);
    assert.equal(page.url(), `${stack.url}/?keep=1`);
  });

  it('the page is served with a strict CSP and the usual security headers, and the browser enforces that CSP', async () => {
    const { page } = await stack.newPage();
    const response = await page.goto(`${stack.url}/`);
    await waitForState(page, 'signed-out');
    const headers = response?.headers() ?? {};
    const csp = headers['content-security-policy'] ?? '';
    assert.match(csp, /(^|;)\s*script-src 'self'(;|$)/);
    assert.match(csp, /(^|;)\s*style-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'no-referrer');

    // An inline script, the thing a strict CSP exists to stop, is refused, and the browser reports
    // it where the last test looks. (eval cannot be probed this way: code run over the DevTools
    // protocol is exempt from the page's CSP.)
    const inlineRan = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.body.dataset.inlineScriptRan = "yes"';
      document.head.append(script);
      return document.body.dataset.inlineScriptRan === 'yes';
    });
    assert.equal(inlineRan, false);
    await waitUntil(() => stack.problems.some((problem) => problem.page === page && problem.kind === 'csp-violation' && problem.text.startsWith('script-src-elem')));
    probePage = page;
  });

  it('no journey above produced a CSP violation, a console error or an uncaught page error', () => {
    assert.deepEqual(stack.problems.filter((problem) => problem.page !== probePage).map(({ url, kind, text }) => ({ url, kind, text })), []);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('the browser did not report the refused script');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
