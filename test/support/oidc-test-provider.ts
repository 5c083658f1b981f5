import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { Provider, type ClientMetadata } from 'oidc-provider';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { createMemoryAdapter } from '../../server/dev/create-memory-adapter.ts';
import { createProviderConfiguration } from '../../server/dev/create-provider-configuration.ts';
import { startEmbeddedProvider } from '../../server/dev/embedded-provider.ts';
import { generateSigningKey } from '../../server/dev/generate-signing-key.ts';
import { handleInteraction } from '../../server/dev/handle-interaction.ts';
import type { DemoUser } from '../../server/dev/load-demo-users.ts';

export const TEST_CLIENT_ID = 'hivekit-token-bff-test';
export const TEST_CLIENT_SECRET = 'test-client-secret-0123456789abcdef';

/** Fixed users, independent of the developer-editable server/dev/demo-users.json. */
export const TEST_USERS: readonly DemoUser[] = Object.freeze([
  { username: 'alice', password: 'alice-test-password', name: 'Alice Example', email: 'alice@example.com', email_verified: true, groups: ['dispatchers', 'riders'] },
  { username: 'bob', password: 'bob-test-password', name: 'Bob Example', email: 'bob@example.com', email_verified: true, groups: ['riders'] },
  { username: 'carol', password: 'carol-test-password', name: 'Carol Partner', email: 'carol@partner.example', email_verified: true, groups: ['viewers'] },
]);

export interface Credentials {
  username: string;
  password: string;
}

export interface Hop {
  method: string;
  url: string;
  status: number;
  location: string | undefined;
}

/** The provider's cookies, as one browser would keep them; the relying party's cookies are not here. */
export class ProviderCookieJar {
  readonly #cookies = new Map<string, { value: string; path: string }>();

  headerFor(url: string): string | undefined {
    const { pathname } = new URL(url);
    const pairs = [...this.#cookies].filter(([, cookie]) => pathname.startsWith(cookie.path)).map(([name, cookie]) => `${name}=${cookie.value}`);
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const path = attributes.find((attribute) => /^path=/i.test(attribute))?.slice(5) || '/';
      const expired = value === '' || attributes.some((attribute) => /^max-age=0$/i.test(attribute) || /^expires=Thu, 01 Jan 1970/i.test(attribute));
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, { value, path });
    }
  }
}

export class ProviderLoginError extends Error {
  constructor(message: string, readonly hops: Hop[], readonly body: string) {
    super(message);
    this.name = 'ProviderLoginError';
  }
}

export interface TestProviderOptions {
  redirectUri: string;
  postLogoutRedirectUri: string;
  users?: readonly DemoUser[];
}

/** A real oidc-provider on 127.0.0.1 and a free port, with one confidential client (PKCE required). */
export async function startTestProvider(options: TestProviderOptions) {
  const logger = createMemoryLogger();
  const users = [...(options.users ?? TEST_USERS)];
  const provider = await startEmbeddedProvider({
    host: '127.0.0.1',
    port: 0,
    clients: [{
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      redirectUris: [options.redirectUri],
      postLogoutRedirectUris: [options.postLogoutRedirectUri],
    }],
    users,
    logger,
  });
  return {
    issuer: provider.issuer,
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    users,
    logger,
    close: () => provider.close(),
    rotateSigningKey: () => provider.rotateSigningKey(),
    /** Logs in as `credentials` (default: alice) in a fresh provider browser session. */
    login: (authorizeUrl: string, credentials: Credentials = users[0]) => completeProviderLogin(authorizeUrl, credentials),
  };
}

export type TestProvider = Awaited<ReturnType<typeof startTestProvider>>;

export interface ClientAuthTestProviderOptions extends TestProviderOptions {
  /** The client's registration: RFC 7591 §2 token_endpoint_auth_method, with its secret or public keys. */
  client: { tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'; clientSecret?: string; jwks?: { keys: JWK[] } };
}

/**
 * The same real oidc-provider, dev configuration and login pages as startTestProvider, with one
 * client registered for the given token endpoint authentication method; discovery offers
 * client_secret_basic, client_secret_post and private_key_jwt, and the provider enforces the
 * client's own method. The dev provider behind startTestProvider offers the first two only.
 */
export async function startClientAuthTestProvider(options: ClientAuthTestProviderOptions) {
  const logger = createMemoryLogger();
  const users = [...(options.users ?? TEST_USERS)];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = {
    client_id: TEST_CLIENT_ID,
    ...(options.client.clientSecret === undefined ? {} : { client_secret: options.client.clientSecret }),
    ...(options.client.jwks === undefined ? {} : { jwks: options.client.jwks }),
    redirect_uris: [options.redirectUri],
    post_logout_redirect_uris: [options.postLogoutRedirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: options.client.tokenEndpointAuthMethod,
  } as ClientMetadata;
  const provider = new Provider(issuer, {
    ...createProviderConfiguration({
      clients: [], users, logger, adapter: createMemoryAdapter(), cookieKeys: [randomBytes(32).toString('base64url')], signingKey: await generateSigningKey(),
    }),
    clients: [client],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => { logger.error('test_provider_server_error', { reason: error.message }); });
  const handle = provider.callback();
  server.on('request', (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (pathname.startsWith('/interaction/')) void handleInteraction(provider, req, res, pathname, { users, showUserList: false, logger });
    else void handle(req, res);
  });
  return {
    issuer,
    clientId: TEST_CLIENT_ID,
    logger,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
    login: (authorizeUrl: string, credentials: Credentials = users[0]!) => completeProviderLogin(authorizeUrl, credentials),
  };
}

const MAX_HOPS = 10;

/**
 * Drives the provider from an authorization URL to the redirect back to the relying party:
 * GET authorize → 303 interaction → GET login page → POST credentials → 303 … → 303 redirect_uri?code&state.
 * Every response is recorded in `hops`. A rejected login throws ProviderLoginError.
 */
export async function completeProviderLogin(
  authorizeUrl: string, credentials: Credentials, cookies: ProviderCookieJar = new ProviderCookieJar(),
): Promise<{ callbackUrl: string; hops: Hop[]; cookies: ProviderCookieJar }> {
  const hops: Hop[] = [];
  let request: { method: string; url: string; body?: URLSearchParams } = { method: 'GET', url: authorizeUrl };
  let submitted = false;
  for (let count = 0; count < MAX_HOPS; count += 1) {
    const { response, location } = await send(request, cookies, hops);
    if (location) {
      if (location.origin !== new URL(authorizeUrl).origin) return { callbackUrl: location.href, hops, cookies };
      request = { method: 'GET', url: location.href };
      continue;
    }
    const body = await response.text();
    const action = /<form method="post" action="([^"]*\/login)">/.exec(body)?.[1];
    if (response.status === 200 && action && !submitted) {
      submitted = true;
      request = { method: 'POST', url: new URL(unescapeHtml(action), request.url).href, body: new URLSearchParams({ username: credentials.username, password: credentials.password }) };
      continue;
    }
    const reason = submitted && action ? 'the provider rejected the credentials' : `unexpected ${response.status} for ${request.method} ${request.url}`;
    throw new ProviderLoginError(reason, hops, body);
  }
  throw new ProviderLoginError(`more than ${MAX_HOPS} hops`, hops, '');
}

/**
 * Drives RP-initiated logout: GET end_session_endpoint → confirmation page → POST "yes, sign me out"
 * → 303 to the post_logout_redirect_uri (or the provider's own "signed out" page).
 */
export async function completeProviderLogout(
  endSessionUrl: string, cookies: ProviderCookieJar,
): Promise<{ redirectUrl: string | undefined; hops: Hop[] }> {
  const hops: Hop[] = [];
  const page = await send({ method: 'GET', url: endSessionUrl }, cookies, hops);
  const body = await page.response.text();
  const form = /<form id="op.logoutForm" method="post" action="([^"]*)"><input type="hidden" name="xsrf" value="([^"]*)"\/>/.exec(body);
  if (!form) throw new ProviderLoginError(`no logout confirmation form (status ${page.response.status})`, hops, body);
  const confirmation = new URLSearchParams({ xsrf: unescapeHtml(form[2]), logout: 'yes' });
  const { location } = await send({ method: 'POST', url: new URL(unescapeHtml(form[1]), endSessionUrl).href, body: confirmation }, cookies, hops);
  return { redirectUrl: location?.href, hops };
}

async function send(
  request: { method: string; url: string; body?: URLSearchParams }, cookies: ProviderCookieJar, hops: Hop[],
): Promise<{ response: Response; location: URL | undefined }> {
  const cookie = cookies.headerFor(request.url);
  const response = await fetch(request.url, {
    method: request.method,
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
    body: request.body,
  });
  cookies.store(response);
  const header = response.headers.get('location') ?? undefined;
  hops.push({ method: request.method, url: request.url, status: response.status, location: header });
  const location = header && response.status >= 300 && response.status < 400 ? new URL(header, request.url) : undefined;
  if (location) await response.body?.cancel();
  return { response, location };
}

function unescapeHtml(value: string): string {
  return value.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}
