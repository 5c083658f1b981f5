import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLyingProvider, type IdTokenFlaw } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { logFromNowOn } from '../support/log-from-now-on.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'id-token-age-client';

describe('the ID token\'s iat is bounded', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let app: TestApp;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's' });
  });
  after(async () => {
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  async function logIn(flaw: IdTokenFlaw) {
    provider.state.flaw = flaw;
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const callback = await hop((await hop(start.location!)).location!, { jar });
    return { jar, callback };
  }

  it('an ID token issued just now signs the user in', async () => {
    const { jar, callback } = await logIn('none');
    assert.equal(callback.location, `${app.url}/`);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 200);
  });

  const refused: Array<[IdTokenFlaw, RegExp]> = [
    ['issued-long-ago', /ERR_JWT_EXPIRED \(iat\)/],
    ['issued-in-future', /ERR_JWT_CLAIM_VALIDATION_FAILED \(iat\)/],
  ];
  for (const [flaw, detail] of refused) {
    it(`an unexpired ID token ${flaw.replaceAll('-', ' ')} creates no session and answers provider_error`, async () => {
      const log = logFromNowOn(app.logger);
      const { jar, callback } = await logIn(flaw);
      assert.equal(callback.location, `${app.url}/?login_error=provider_error`);
      assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar })).status, 401);
      const refusals = log().filter((entry) => entry.event === 'login_refused');
      assert.equal(refusals.length, 1);
      assert.match(String(refusals[0]!.fields.detail), detail);
    });
  }
});
