import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoUser, logInThroughPage, readClaims, startDemoStack, type DemoStack } from './demo-page-driver.ts';

const TOKEN_TTL_SECONDS = 60;

describe('token renewal in Chromium with TOKEN_TTL_SECONDS=60', () => {
  let stack: DemoStack;
  before(async () => { stack = await startDemoStack(); });
  after(async () => { await stack?.close(); });

  it('the page renews the token before it expires, without a reload, and keeps it out of storage and the address', async () => {
    const { page } = await stack.newPage();
    await logInThroughPage(stack, page, demoUser('bob'));
    const first = await readClaims(page);
    assert.equal(first.exp, Number(first.iat) + TOKEN_TTL_SECONDS);

    let loads = 0;
    page.on('load', () => { loads += 1; });
    await page.evaluate(() => { (window as unknown as { e2eMarker: string }).e2eMarker = 'still the same document'; });

    // The client renews a third of the lifetime (plus up to half that again, as jitter) before
    // expiry: 30–40 s after the first token here. 50 s leaves room for a slow machine.
    await page.waitForFunction(
      (jti) => document.querySelector('[data-testid="token-jti"]')?.textContent !== jti,
      first.jti,
      { timeout: 50_000, polling: 250 },
    );
    const second = await readClaims(page);

    assert.notEqual(second.jti, first.jti);
    assert.equal(second.sub, 'bob');
    assert.equal(await page.evaluate(() => (window as unknown as { e2eMarker?: string }).e2eMarker), 'still the same document');
    assert.equal(loads, 0, 'no page load while waiting');
    assert.ok(Number(second.iat) < Number(first.exp), `renewed before the first token expired (iat ${String(second.iat)}, exp ${String(first.exp)})`);
    assert.ok(Number(second.iat) - Number(first.iat) >= TOKEN_TTL_SECONDS / 3, 'not renewed long before it was due');
    assert.equal(await page.getByTestId('token-jti').textContent(), second.jti);
    assert.equal(await page.getByTestId('status').getAttribute('data-state'), 'signed-in');

    const log = await page.getByTestId('renewal-log').locator('li').evaluateAll((items) => items.map((item) => ({
      kind: (item as HTMLElement).dataset.kind, jti: (item as HTMLElement).dataset.jti,
    })));
    assert.deepEqual(log, [{ kind: 'renewed', jti: second.jti }, { kind: 'first', jti: first.jti }]);

    const kept = await page.evaluate(() => ({
      storage: localStorage.length + sessionStorage.length,
      cookies: document.cookie,
      address: location.href,
    }));
    assert.deepEqual(kept, { storage: 0, cookies: '', address: `${stack.url}/` });
  });

  it('the renewal produced no CSP violation, console error or page error', () => {
    assert.deepEqual(stack.problems.map(({ url, kind, text }) => ({ url, kind, text })), []);
  });
});
