import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { startProduct, type RunningProduct } from '../support/start-product.ts';

export interface DemoUserCredentials {
  username: string;
  password: string;
  name: string;
  email: string;
}

const demoUsersFile = JSON.parse(await readFile(new URL('../../server/dev/demo-users.json', import.meta.url), 'utf8')) as { users: DemoUserCredentials[] };

export function demoUser(username: string): DemoUserCredentials {
  const user = demoUsersFile.users.find((candidate) => candidate.username === username);
  if (!user) throw new Error(`server/dev/demo-users.json has no user ${username}`);
  return user;
}

/** Something the browser reported that a page working under its CSP never should. */
export interface PageProblem {
  page: Page;
  url: string;
  kind: 'console-error' | 'page-error' | 'csp-violation';
  text: string;
}

export interface PageOptions {
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

export interface DemoStack {
  product: RunningProduct;
  browser: Browser;
  /** The app's origin, e.g. http://localhost:41234 */
  url: string;
  /** The embedded OpenID provider's origin. */
  providerUrl: string;
  /** Everything reported by every page opened through newPage(), in order. */
  problems: PageProblem[];
  /** A fresh browser profile (no cookies) with one page whose console and CSP reports are collected. */
  newPage(options?: PageOptions): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/**
 * The product as `npm start` runs it in dev mode (embedded provider, demo users, example policy)
 * with a fresh data folder, and one Debian Chromium for all the journeys of a test file.
 */
export async function startDemoStack(env: Record<string, string> = {}): Promise<DemoStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hivekit-e2e-'));
  let product: RunningProduct | undefined;
  let browser: Browser | undefined;
  try {
    product = await startProduct({ DATA_DIR: dataDir, TOKEN_TTL_SECONDS: '60', ...env });
    browser = await launchChromium();
  } catch (error) {
    await product?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const contexts: BrowserContext[] = [];
  const problems: PageProblem[] = [];
  const url = product.url;
  const started = { product, browser };

  return {
    ...started,
    url,
    providerUrl: `http://localhost:${product.env.DEV_OIDC_PORT}`,
    problems,
    async newPage(options: PageOptions = {}) {
      // Fixed locale and zone so times on the page (and in the README screenshot) read the same everywhere.
      const context = await started.browser.newContext({
        locale: 'en-GB', timezoneId: 'Europe/London', viewport: options.viewport ?? { width: 1280, height: 800 },
        colorScheme: options.colorScheme ?? 'light',
      });
      contexts.push(context);
      await collectCspViolations(context, problems);
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        const source = message.location().url;
        if (isExpectedSignedOutAnswer(url, message.text(), source)) return;
        problems.push({ page, url: page.url(), kind: 'console-error', text: `${message.text()} (${source})` });
      });
      page.on('pageerror', (error) => problems.push({ page, url: page.url(), kind: 'page-error', text: error.message }));
      return { context, page };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await started.browser.close().catch(() => undefined);
      await started.product.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Chromium logs every non-2xx fetch as a console error. A 401 from the token route is how the
 * server says "signed out", so that one line is expected; any other console error is a problem.
 */
function isExpectedSignedOutAnswer(appUrl: string, text: string, source: string): boolean {
  return source === `${appUrl}/hivekit-access-token` && text.includes('status of 401');
}

/**
 * Reports `securitypolicyviolation` events through a binding. The listener is installed over the
 * DevTools protocol, which the page's CSP does not govern, so the page itself needs no inline script.
 */
async function collectCspViolations(context: BrowserContext, problems: PageProblem[]): Promise<void> {
  await context.exposeBinding('__e2eReportCspViolation', ({ page }, text: unknown) => {
    problems.push({ page, url: page.url(), kind: 'csp-violation', text: String(text) });
  });
  await context.addInitScript(() => {
    const report = (globalThis as unknown as { __e2eReportCspViolation(text: string): void }).__e2eReportCspViolation;
    document.addEventListener('securitypolicyviolation', (event) => {
      report(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} (${event.disposition}) at ${event.sourceFile}:${event.lineNumber}`);
    });
  });
}

/**
 * Logs in the way a person does: the page's "Log in" button, the provider's form with username and
 * password, back to the page, which then shows the signed-in session.
 */
export async function logInThroughPage(stack: DemoStack, page: Page, user: DemoUserCredentials): Promise<void> {
  await page.goto(`${stack.url}/`);
  await waitForState(page, 'signed-out');
  await page.getByTestId('login-button').click();
  await signInAtProvider(stack, page, user);
}

/** The provider's login form, from the moment the browser is on its way there until the app shows the user. */
export async function signInAtProvider(stack: DemoStack, page: Page, user: DemoUserCredentials): Promise<void> {
  await page.waitForURL((address) => address.origin === stack.providerUrl && address.pathname.startsWith('/interaction/'));
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${stack.url}/`);
  await waitForState(page, 'signed-in');
}

export type PageState = 'idle' | 'signed-in' | 'user-changed' | 'signed-out' | 'error';

export async function waitForState(page: Page, state: PageState, timeoutMs = 10_000): Promise<void> {
  await page.locator(`[data-testid="status"][data-state="${state}"]`).waitFor({ timeout: timeoutMs });
}

export interface PermissionRowView {
  realm: string;
  pattern: string;
  letters: string;
  allowed: string;
}

/** The permissions table as shown, sorted so the comparison does not depend on claim order. */
export async function readPermissionsTable(page: Page): Promise<PermissionRowView[]> {
  const rows = await page.locator('[data-testid="permissions-table"] tbody tr').evaluateAll((trs) => trs.map((tr) => {
    const row = tr as HTMLTableRowElement;
    return {
      realm: row.dataset.realm ?? '',
      pattern: row.dataset.pattern ?? '',
      letters: row.dataset.permissions ?? '',
      allowed: row.querySelector<HTMLElement>('.letters')?.dataset.allowed ?? '',
    };
  }));
  return rows.sort((a, b) => `${a.realm} ${a.pattern}`.localeCompare(`${b.realm} ${b.pattern}`));
}

/** realm → object ids, as the dpv table shows them. */
export async function readDataProviderTable(page: Page): Promise<Record<string, string[]>> {
  const rows = await page.locator('[data-testid="dpv-table"] tbody tr').evaluateAll((trs) => trs.map((tr) => {
    const row = tr as HTMLTableRowElement;
    return [row.dataset.realm ?? '', [...row.querySelectorAll('li code')].map((code) => code.textContent ?? '')] as const;
  }));
  return Object.fromEntries(rows);
}

/** How far the document is wider than the window (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; clientWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
}

export async function readClaims(page: Page): Promise<Record<string, unknown>> {
  const text = await page.getByTestId('token-claims').textContent();
  assert.ok(text, 'the decoded claims are shown');
  return JSON.parse(text) as Record<string, unknown>;
}

/** What the token route answers this page's cookies, asked the way the client asks. */
export async function fetchTokenRouteFromPage(page: Page): Promise<{ status: number; body: unknown }> {
  return page.evaluate(async () => {
    const response = await fetch('/hivekit-access-token', { headers: { 'X-Hivekit-BFF': '1', Accept: 'application/json' }, cache: 'no-store' });
    return { status: response.status, body: await response.json().catch(() => null) };
  });
}
