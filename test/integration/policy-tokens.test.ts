import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { createPolicyHolder, type PolicyHolder } from '../../server/policy/create-policy-holder.ts';
import { policyPermissions } from '../../server/tokens/policy-permissions.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { completeProviderLogin, startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { reservePort, startTestApp, TEST_HIVEKIT_SECRET, type TestApp } from '../support/test-app.ts';

const EXAMPLE_POLICY = fileURLToPath(new URL('../../policy.example.json', import.meta.url));

describe('tokens carry the per and dpv the example policy gives each user', () => {
  let provider: TestProvider;
  let app: TestApp;
  let holder: PolicyHolder;

  before(async () => {
    const listener = await reservePort();
    provider = await startTestProvider({ redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/` });
    const logger = createMemoryLogger();
    holder = await createPolicyHolder({ path: EXAMPLE_POLICY, logger, watch: false });
    app = await startTestApp({
      issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener,
      deps: { permissionsFor: policyPermissions(holder, logger) },
    });
  });
  after(async () => {
    holder.close();
    await app.stop();
    await app.cleanup();
    await provider.close();
  });

  async function claimsFor(username: string): Promise<Record<string, unknown>> {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar });
    const { callbackUrl } = await completeProviderLogin(start.location!, provider.users.find((u) => u.username === username)!);
    await hop(callbackUrl, { jar });
    const response = await hop(`${app.url}/hivekit-access-token`, { jar });
    return jwt.verify((response.json as { token: string }).token, TEST_HIVEKIT_SECRET) as Record<string, unknown>;
  }

  it('alice, a dispatcher and rider, gets dispatch rights everywhere and her own rider object', async () => {
    const claims = await claimsFor('alice');
    assert.deepEqual(claims.per, {
      '*': { 'status/*': 'R' },
      london: { 'deliveries/*': 'CRUD', 'deliveries/alice/*': 'RU', 'riders/*': 'RU', 'riders/alice': 'CRUD' },
    });
    assert.deepEqual(claims.dpv, { london: ['riders/alice'] });
  });

  it('bob, only a rider, gets his own rider object and nothing of dispatch', async () => {
    const claims = await claimsFor('bob');
    assert.deepEqual(claims.per, { london: { 'deliveries/bob/*': 'RU', 'riders/*': 'R', 'riders/bob': 'CRUD' } });
    assert.deepEqual(claims.dpv, { london: ['riders/bob'] });
  });

  it('carol, a partner viewer, gets read-only delivery status and her company\'s orders, and no dpv', async () => {
    const claims = await claimsFor('carol');
    assert.deepEqual(claims.per, { london: { 'deliveries/*/status': 'R', 'partners/partner.example/*': 'CR', 'riders/*': 'R' } });
    assert.deepEqual(claims.dpv, {});
  });
});
