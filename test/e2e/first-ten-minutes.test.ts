import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { compilePolicy } from '../../server/policy/compile-policy.ts';
import { explainPermissions } from '../../server/policy/explain-permissions.ts';
import { PROJECT_ROOT } from '../support/start-product.ts';
import {
  demoUser, horizontalOverflow, logInThroughPage, readPermissionsTable, signInAtProvider, startDemoStack, waitForState, type DemoStack,
} from './demo-page-driver.ts';

// Issue 16: the journeys a new user takes in the first ten minutes, each without a dead end.

const RESULTS_DIR = join(PROJECT_ROOT, 'test-results');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

const demoUsers = JSON.parse(await readFile(join(PROJECT_ROOT, 'server/dev/demo-users.json'), 'utf8')) as {
  users: Array<{ username: string; name: string; email: string; email_verified: boolean; groups: string[] }>;
};
const compiled = compilePolicy(JSON.parse(await readFile(join(PROJECT_ROOT, 'policy.example.json'), 'utf8')));
assert.ok(compiled.ok);
const examplePolicy = compiled.policy;

/** What the server's policy explain says for a demo user: the claims the embedded provider puts in the ID token. */
function expectedExplanation(username: string) {
  const user = demoUsers.users.find((candidate) => candidate.username === username)!;
  return explainPermissions(examplePolicy, { sub: user.username, name: user.name, email: user.email, email_verified: user.email_verified, groups: user.groups });
}

/** Each row of the permissions view with the rules its "Granted by" cell names. */
async function readGrantingRules(page: Page): Promise<Array<{ realm: string; pattern: string; rules: string[]; text: string }>> {
  return page.locator('[data-testid="permissions-table"] tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    realm: (tr as HTMLElement).dataset.realm ?? '',
    pattern: (tr as HTMLElement).dataset.pattern ?? '',
    rules: [...tr.querySelectorAll<HTMLElement>('.granted-by li')].map((li) => li.dataset.rule ?? ''),
    text: tr.querySelector('.granted-by')?.textContent ?? '',
  })));
}

async function assertNoHorizontalOverflow(page: Page, where: string): Promise<void> {
  const { scrollWidth, clientWidth } = await horizontalOverflow(page);
  assert.ok(scrollWidth <= clientWidth, `${where}: ${scrollWidth} px of content in a ${clientWidth} px window`);
}

describe('the first ten minutes in Chromium, against `npm start` in dev mode (issue 16)', () => {
  let stack: DemoStack;
  /** Pages sent Back to a finished sign-in: the provider answers that page with a 400, which Chromium logs. */
  const backAfterLogin = new Set<Page>();
  // A dozen logins in a minute from one address: above the default limit of 30 login steps.
  before(async () => { stack = await startDemoStack({ RATE_LIMIT_LOGIN_PER_MINUTE: '1000' }); });
  after(async () => { await stack?.close(); });

  it('journey 1: a first login started at 127.0.0.1 (not PUBLIC_URL\'s localhost) is moved to PUBLIC_URL first and succeeds', async () => {
    const { page } = await stack.newPage();
    const loopbackUrl = stack.url.replace('localhost', '127.0.0.1');
    const response = await page.goto(`${loopbackUrl}/`);
    assert.equal(response?.request().redirectedFrom()?.url(), `${loopbackUrl}/`);
    assert.equal(new URL(page.url()).origin, stack.url);
    await waitForState(page, 'signed-out');

    await page.getByTestId('login-button').click();
    await signInAtProvider(stack, page, demoUser('alice'));
    assert.equal(await page.getByTestId('status').textContent(), 'Signed in as Alice Example.');
    assert.ok(await page.getByTestId('login-error-box').isHidden(), 'no "could not match the sign-in" message');
  });

  it('journey 2: tab A (alice) stays open while tab B logs out and in as bob; at A\'s next renewal the page says the user changed', async () => {
    const { context, page: tabA } = await stack.newPage();
    // Tab A's renewal is due 30–40 s after its token; the page's clock is moved instead of waiting.
    await context.clock.install();
    await logInThroughPage(stack, tabA, demoUser('alice'));
    assert.ok(await tabA.getByTestId('user-changed').isHidden());

    const tabB = await context.newPage();
    await tabB.goto(`${stack.url}/`);
    await waitForState(tabB, 'signed-in');
    await tabB.getByTestId('logout-button').click();
    await waitForState(tabB, 'signed-out');
    await tabB.getByTestId('switch-user-button').click();
    await signInAtProvider(stack, tabB, demoUser('bob'));
    assert.equal(await tabB.getByTestId('status').textContent(), 'Signed in as Bob Example.');

    await tabA.bringToFront();
    await tabA.clock.fastForward('00:45');
    const notice = tabA.getByTestId('user-changed');
    await notice.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await notice.getAttribute('data-previous-sub'), 'alice');
    assert.equal(await notice.getAttribute('data-sub'), 'bob');
    assert.match(await notice.textContent() ?? '', /now signed in as Bob Example, no longer as Alice Example/);
    assert.equal(await tabA.getByTestId('user-sub').textContent(), 'bob');
    const log = await tabA.getByTestId('renewal-log').locator('li').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.kind));
    assert.equal(log[0], 'user-changed', 'the log says the user changed, not "Token renewed"');
    assert.ok(!log.includes('renewed'));
    await tabB.close();
  });

  it('journey 3: for every demo user, each entry of the permissions view names the rule(s) that granted it, as the server\'s policy explain says', async () => {
    for (const username of ['alice', 'bob', 'carol']) {
      const { page } = await stack.newPage();
      await logInThroughPage(stack, page, demoUser(username));
      await page.locator('[data-testid="permissions-table"] .granted-by li').first().waitFor();
      const expected = expectedExplanation(username);

      const shown = await readGrantingRules(page);
      assert.deepEqual(
        shown.map(({ realm, pattern, rules }) => ({ realm, pattern, rules })),
        expected.per.map(({ realm, pattern, grantedBy }) => ({ realm, pattern, rules: grantedBy.map((rule) => rule.rule) })),
        `${username}: rows and their granting rules`,
      );
      for (const [index, entry] of expected.per.entries()) {
        assert.ok(entry.grantedBy.length > 0);
        for (const rule of entry.grantedBy) assert.ok(shown[index]!.text.includes(rule.description ?? ''), `${username} ${entry.pattern}: ${rule.rule}'s description`);
      }
      const letters = await readPermissionsTable(page);
      assert.deepEqual(letters.map((row) => row.letters).sort(), expected.per.map((entry) => entry.letters).sort());

      const claims = await page.getByTestId('policy-claims').innerText();
      const user = demoUsers.users.find((candidate) => candidate.username === username)!;
      assert.match(claims, new RegExp(`groups\\s+${user.groups.join(', ')}`), `${username}: the groups the policy read`);
      assert.match(claims, new RegExp(`email\\s+${user.email.replace('.', '\\.')}`));
      const applying = await page.locator('[data-testid="policy-rules"] li[data-applies="true"]').evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.rule));
      assert.deepEqual(applying, expected.rules.filter((rule) => rule.applies).map((rule) => rule.rule));
      await page.context().close();
    }
  });

  it('journey 4: dev logout returns to the app without a question, and "Log in as someone else" lets another demo user in', async () => {
    const { page } = await stack.newPage();
    await logInThroughPage(stack, page, demoUser('alice'));

    // Signed in, the provider has a session of its own: prompt=login makes it ask anyway.
    await page.getByTestId('switch-user-button').click();
    await signInAtProvider(stack, page, demoUser('carol'));
    assert.equal(await page.getByTestId('status').textContent(), 'Signed in as Carol Partner.');

    const pages: string[] = [];
    page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) pages.push(frame.url()); });
    await page.getByTestId('logout-button').click();
    // The provider returns to post_logout_redirect_uri with the state the app sent (RP-Initiated Logout §3).
    await page.waitForURL((address) => address.origin === new URL(stack.url).origin && address.pathname === '/');
    await waitForState(page, 'signed-out');
    assert.equal(pages.filter((address) => address.startsWith(stack.providerUrl)).length, 1, 'one pass through the provider, no page to answer');

    await page.getByTestId('switch-user-button').click();
    await signInAtProvider(stack, page, demoUser('bob'));
    assert.equal(await page.getByTestId('status').textContent(), 'Signed in as Bob Example.');
  });

  it('journey 5: Back after login lands on the provider\'s finished sign-in, which offers one click back to the app, still signed in', async () => {
    const { page } = await stack.newPage();
    await logInThroughPage(stack, page, demoUser('bob'));

    backAfterLogin.add(page);
    await page.goBack();
    assert.equal(new URL(page.url()).origin, stack.providerUrl);
    assert.match(await page.locator('h1').textContent() ?? '', /cannot continue|out of date/);
    await page.getByTestId('back-to-app').click();
    await page.waitForURL(`${stack.url}/`);
    await waitForState(page, 'signed-in');
    assert.equal(await page.getByTestId('status').textContent(), 'Signed in as Bob Example.');
  });

  it('journey 5b: a login_expired message on the app offers "Log in again", which starts a login', async () => {
    const { page } = await stack.newPage();
    await page.goto(`${stack.url}/?login_error=login_expired`);
    await waitForState(page, 'signed-out');
    assert.ok(await page.getByTestId('login-again').isVisible());
    await page.getByTestId('login-again').click();
    await page.waitForURL((address) => address.origin === stack.providerUrl && address.pathname.startsWith('/interaction/'));
  });

  it('journey 7: at 390 px nothing scrolls sideways, on the app (signed out and in) and on the dev provider\'s pages', async () => {
    const { page } = await stack.newPage({ viewport: PHONE });
    await page.goto(`${stack.url}/`);
    await waitForState(page, 'signed-out');
    await assertNoHorizontalOverflow(page, 'app, signed out');
    assert.ok(await page.getByTestId('logout-form').isHidden(), 'signed out: no Log out next to Log in');

    await page.getByTestId('login-button').click();
    await page.waitForURL((address) => address.origin === stack.providerUrl && address.pathname.startsWith('/interaction/'));
    await assertNoHorizontalOverflow(page, 'provider login page');
    await signInAtProvider(stack, page, demoUser('alice'));
    await page.locator('[data-testid="permissions-table"] .granted-by li').first().waitFor();
    await assertNoHorizontalOverflow(page, 'app, signed in as alice');

    // Id patterns wrap after a "/" only: every line of a pattern ends at a segment boundary.
    const brokenInsideSegment = await page.locator('code.pattern').evaluateAll((codes) => codes.filter((code) => {
      const range = document.createRange();
      range.selectNodeContents(code);
      const lines = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
      if (lines.size < 2) return false;
      // Measured per character: a line that starts with anything but the first letter of a segment broke mid-word.
      const text = code.textContent ?? '';
      let offset = 0;
      const starts: number[] = [];
      let lastTop = -1;
      for (const node of code.childNodes) {
        if (node.nodeType !== Node.TEXT_NODE) continue;
        for (let i = 0; i < (node.textContent ?? '').length; i += 1) {
          const r = document.createRange();
          r.setStart(node, i);
          r.setEnd(node, i + 1);
          const top = Math.round(r.getBoundingClientRect().top);
          if (lastTop !== -1 && top > lastTop) starts.push(offset + i);
          lastTop = top;
        }
        offset += (node.textContent ?? '').length;
      }
      return starts.some((index) => text[index - 1] !== '/');
    }).map((code) => code.textContent));
    assert.deepEqual(brokenInsideSegment, []);

    // The whole claims box is shown (no height cap cutting off dpv).
    const claimsBox = await page.getByTestId('token-claims').evaluate((pre) => ({ scroll: pre.scrollHeight, client: pre.clientHeight }));
    assert.ok(claimsBox.scroll <= claimsBox.client + 1, `claims box cut off: ${claimsBox.scroll} > ${claimsBox.client}`);

    backAfterLogin.add(page);
    await page.goBack();
    assert.equal(new URL(page.url()).origin, stack.providerUrl);
    await assertNoHorizontalOverflow(page, 'provider "cannot continue" page');
  });

  it('screenshots of the signed-in page: desktop and 390 px, light and dark (test-results/)', async () => {
    await mkdir(RESULTS_DIR, { recursive: true });
    for (const [size, viewport] of [['desktop', DESKTOP], ['390px', PHONE]] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const { page, context } = await stack.newPage({ viewport, colorScheme });
        await logInThroughPage(stack, page, demoUser('alice'));
        await page.locator('[data-testid="permissions-table"] .granted-by li').first().waitFor();
        await page.screenshot({ path: join(RESULTS_DIR, `demo-page-${size}-${colorScheme}.png`), fullPage: true, animations: 'disabled' });
        await context.close();
      }
    }
  });

  it('no journey above produced a CSP violation, a console error or an uncaught page error', () => {
    const unexpected = stack.problems.filter((problem) => !(backAfterLogin.has(problem.page) && problem.kind === 'console-error'
      && problem.url.startsWith(`${stack.providerUrl}/interaction/`) && problem.text.includes('status of 400')));
    assert.deepEqual(unexpected.map(({ url, kind, text }) => ({ url, kind, text })), []);
  });
});
