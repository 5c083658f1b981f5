import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, SignJWT, type JWK } from 'jose';
import { Provider, type ClientMetadata } from 'oidc-provider';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { createMemoryAdapter } from '../../server/dev/create-memory-adapter.ts';
import { createProviderConfiguration } from '../../server/dev/create-provider-configuration.ts';
import { generateSigningKey } from '../../server/dev/generate-signing-key.ts';
import { handleInteraction } from '../../server/dev/handle-interaction.ts';
import type { DemoUser } from '../../server/dev/load-demo-users.ts';
import { completeProviderLogin, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_USERS, type Credentials, type ProviderCookieJar } from './oidc-test-provider.ts';

/**
 * The real oidc-provider with what a session lifecycle needs from its provider: refresh tokens
 * (offline_access offered), back-channel logout to the app, an account store the test can change
 * (groups) or disable, a switch that makes every endpoint answer 503 (an outage), and its own signing
 * key, so a test can sign logout tokens exactly as the provider would, or with one flaw.
 */
export async function startLifecycleProvider(options: { redirectUri: string; postLogoutRedirectUri: string; backchannelLogoutUri: string }) {
  const logger = createMemoryLogger();
  // Copies: tests change groups and must not change TEST_USERS for other files.
  const users: DemoUser[] = TEST_USERS.map((user) => ({ ...user, groups: [...user.groups] }));
  const disabled = new Set<string>();
  const signingKey = await generateSigningKey();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = createProviderConfiguration({
    clients: [], users, logger, adapter: createMemoryAdapter(), cookieKeys: [randomBytes(32).toString('base64url')], signingKey,
  });
  const baseFindAccount = base.findAccount!;
  const provider = new Provider(issuer, {
    ...base,
    clients: [{
      client_id: TEST_CLIENT_ID,
      client_secret: TEST_CLIENT_SECRET,
      redirect_uris: [options.redirectUri],
      post_logout_redirect_uris: [options.postLogoutRedirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      backchannel_logout_uri: options.backchannelLogoutUri,
      backchannel_logout_session_required: true,
    } as ClientMetadata],
    scopes: ['openid', 'offline_access'],
    // oidc-provider grants offline_access only with prompt=consent; Keycloak, Okta and Auth0 do not
    // ask for it, and neither does the app: here every login of this client gets a refresh token.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(grant: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (ctx: Parameters<typeof baseFindAccount>[0], sub: string) => (disabled.has(sub) ? undefined : baseFindAccount(ctx, sub)),
    features: { ...(base.features as object), backchannelLogout: { enabled: true } },
  } as unknown as ConstructorParameters<typeof Provider>[1]);
  provider.on('server_error', (_ctx: unknown, error: Error) => { logger.error('test_provider_server_error', { reason: error.message }); });
  const handle = provider.callback();
  let down = false;
  server.on('request', (req, res) => {
    if (down) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
      return;
    }
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (pathname.startsWith('/interaction/')) void handleInteraction(provider, req, res, pathname, { users, showUserList: false, logger });
    else void handle(req, res);
  });
  const privateKey = await importJWK(signingKey as JWK, 'RS256');

  return {
    issuer,
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    users,
    logger,
    /** Changes a user's groups at the provider, as an administrator would. */
    setGroups(username: string, groups: string[]) { users.find((user) => user.username === username)!.groups = groups; },
    /** The account is gone for the provider: its grants can no longer be refreshed. */
    disable(username: string) { disabled.add(username); },
    /** Every endpoint answers 503 while down. */
    setDown(value: boolean) { down = value; },
    /** A logout token signed with the provider's own key (OIDC Back-Channel Logout 1.0 §2.4); override any claim. */
    async logoutToken(claims: Record<string, unknown>, signWith: 'provider' | CryptoKey | Uint8Array = 'provider', header: Record<string, unknown> = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer, aud: TEST_CLIENT_ID, iat: now, exp: now + 120, jti: randomBytes(12).toString('base64url'),
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, ...claims,
      };
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: signingKey.kid, ...header })
        .sign(signWith === 'provider' ? privateKey : signWith);
    },
    login: (authorizeUrl: string, credentials: Credentials = users[0]!, cookies?: ProviderCookieJar) => completeProviderLogin(authorizeUrl, credentials, cookies),
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

export type LifecycleProvider = Awaited<ReturnType<typeof startLifecycleProvider>>;
