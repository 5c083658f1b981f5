import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidcProvider from 'oidc-provider';
import { Provider, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import { createMemoryAdapter } from '../../server/dev/create-memory-adapter.ts';
import { createProviderConfiguration } from '../../server/dev/create-provider-configuration.ts';
import { generateSigningKey } from '../../server/dev/generate-signing-key.ts';
import { handleInteraction } from '../../server/dev/handle-interaction.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { completeProviderLogin, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_USERS, type Credentials } from './oidc-test-provider.ts';

/** Access tokens for this resource are JWTs (RFC 9068) whose aud is the resource: the BFF's TOKEN_EXCHANGE_AUDIENCE. */
export const BFF_RESOURCE = 'urn:hivekit-bff';
/** The same service, but the provider issues opaque access tokens for it (checked by introspection). */
export const BFF_OPAQUE_RESOURCE = 'urn:hivekit-bff:opaque';
/** Somebody else's API: its JWT access tokens must not be exchangeable here. */
export const OTHER_RESOURCE = 'urn:other-api';
export const RESOURCE_SCOPES = 'hivekit:read hivekit:write';
/** A public native-style client (PKCE, no secret) that signs users in and asks for BFF access tokens. */
export const MOBILE_CLIENT_ID = 'hivekit-mobile';
const MOBILE_REDIRECT_URI = 'http://127.0.0.1:9/mobile-callback';
/** A machine client: client credentials only, no end user. */
export const JOB_CLIENT_ID = 'reporting-job';
export const JOB_CLIENT_SECRET = 'reporting-job-secret-0123456789abcdef';
export const ACCESS_TOKEN_TTL_SECONDS = 300;

/**
 * panva's oidc-provider 8.8.1 with resource indicators (RFC 8707) and the client credentials grant
 * on: the dev configuration (users, login pages) plus three resources, a mobile client and a
 * machine client; the BFF's own client may introspect (RFC 7662). User access tokens carry the
 * user's `groups` (extraTokenClaims), as Auth0 Actions or Keycloak mappers would add them. The
 * signing key is handed to the tests so they can forge tokens the real key signs.
 */
export async function startExchangeTestProvider(options: { redirectUri: string; postLogoutRedirectUri: string }) {
  const logger = createMemoryLogger();
  const users = [...TEST_USERS];
  const signingKey = await generateSigningKey();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = createProviderConfiguration({
    clients: [], users, logger, adapter: createMemoryAdapter(), cookieKeys: [randomBytes(32).toString('base64url')], signingKey,
  });
  // server/dev/oidc-provider.d.ts declares only what dev mode uses; the rest of the surface used here, typed locally.
  const { InvalidTarget } = (oidcProvider as unknown as { errors: { InvalidTarget: new () => Error } }).errors;
  type GrantWithResources = { addResourceScope(resource: string, scope: string): void; save(): Promise<string> };
  type Context = { oidc: { params?: Record<string, unknown>; requestParamScopes: Set<string> } };
  const clients = [
    {
      client_id: TEST_CLIENT_ID, client_secret: TEST_CLIENT_SECRET, redirect_uris: [options.redirectUri],
      post_logout_redirect_uris: [options.postLogoutRedirectUri], grant_types: ['authorization_code'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: MOBILE_CLIENT_ID, redirect_uris: [MOBILE_REDIRECT_URI], grant_types: ['authorization_code'], response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    {
      client_id: JOB_CLIENT_ID, client_secret: JOB_CLIENT_SECRET, redirect_uris: [], grant_types: ['client_credentials'], response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ] as ClientMetadata[];
  const resourceServer = (resource: string) => {
    if (resource === BFF_RESOURCE || resource === OTHER_RESOURCE) {
      return { scope: RESOURCE_SCOPES, accessTokenFormat: 'jwt' as const, accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS, jwt: { sign: { alg: 'RS256' } } };
    }
    if (resource === BFF_OPAQUE_RESOURCE) return { scope: RESOURCE_SCOPES, accessTokenFormat: 'opaque' as const, accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS };
    throw new InvalidTarget();
  };
  const provider = new Provider(issuer, {
    ...base,
    clients,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grant = await base.loadExistingGrant!(ctx);
      const { params, requestParamScopes } = (ctx as unknown as Context).oidc;
      if (grant && typeof params?.resource === 'string') {
        (grant as unknown as GrantWithResources).addResourceScope(params.resource, [...requestParamScopes].filter((s) => RESOURCE_SCOPES.split(' ').includes(s)).join(' '));
        await grant.save();
      }
      return grant;
    },
    extraTokenClaims: async (_ctx: unknown, token: unknown) => {
      const accountId = (token as { accountId?: string }).accountId;
      const user = accountId === undefined ? undefined : users.find((u) => u.username === accountId);
      return user ? { groups: [...user.groups] } : undefined;
    },
    features: {
      ...base.features as Record<string, unknown>,
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf ?? undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => resourceServer(resource),
      },
    },
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => { logger.error('test_provider_server_error', { reason: error.message }); });
  const handle = provider.callback();
  server.on('request', (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (pathname.startsWith('/interaction/')) void handleInteraction(provider, req, res, pathname, { users, showUserList: false, logger });
    else void handle(req, res);
  });

  const tokenRequest = async (body: URLSearchParams, authorization?: string): Promise<Record<string, string>> => {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST', body, headers: authorization ? { authorization } : {},
    });
    const json = await response.json() as Record<string, string>;
    if (response.status !== 200) throw new Error(`provider token endpoint: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };

  return {
    issuer,
    signingKey,
    logger,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
    /** The mobile app's login (code flow with PKCE, as a public client): its access token for `resource`, and its ID token. */
    async userTokens(credentials: Credentials, resource = BFF_RESOURCE): Promise<{ accessToken: string; idToken: string }> {
      const verifier = randomBytes(32).toString('base64url');
      const authorize = new URL(`${issuer}/auth`);
      authorize.search = new URLSearchParams({
        client_id: MOBILE_CLIENT_ID, redirect_uri: MOBILE_REDIRECT_URI, response_type: 'code', scope: `openid profile ${RESOURCE_SCOPES}`,
        resource, state: randomBytes(8).toString('hex'), code_challenge_method: 'S256',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      }).toString();
      const { callbackUrl } = await completeProviderLogin(authorize.href, credentials);
      const code = new URL(callbackUrl).searchParams.get('code');
      if (!code) throw new Error(`no code in ${callbackUrl}`);
      const tokens = await tokenRequest(new URLSearchParams({
        grant_type: 'authorization_code', client_id: MOBILE_CLIENT_ID, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT_URI, resource,
      }));
      return { accessToken: tokens.access_token!, idToken: tokens.id_token! };
    },
    /** The machine client's access token (client credentials grant). */
    async clientCredentialsToken(resource = BFF_RESOURCE, scope = 'hivekit:read'): Promise<string> {
      const tokens = await tokenRequest(
        new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
        `Basic ${Buffer.from(`${JOB_CLIENT_ID}:${JOB_CLIENT_SECRET}`).toString('base64')}`,
      );
      return tokens.access_token!;
    },
  };
}

export type ExchangeTestProvider = Awaited<ReturnType<typeof startExchangeTestProvider>>;
