import type { JWK } from 'jose';
import type { Account, Adapter, Configuration, Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../logging/logger.ts';
import type { DemoUser } from './load-demo-users.ts';
import { escapeHtml } from '../http/escape-html.ts';
import { pageHeaders, pageHeadersWithScript, renderPage } from './render-page.ts';

export interface ProviderClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface ProviderConfigurationInput {
  clients: readonly ProviderClient[];
  users: readonly DemoUser[];
  adapter: (model: string) => Adapter;
  cookieKeys: string[];
  signingKey: JWK;
  logger: Logger;
  /** The app's address (PUBLIC_URL), linked from the provider's dead-end pages. */
  appUrl?: string;
}

/** oidc-provider settings for the dev provider; every choice that differs from the library default is here. */
export function createProviderConfiguration(input: ProviderConfigurationInput): Configuration {
  const accounts = new Map(input.users.map((user) => [user.username, user]));
  return {
    adapter: input.adapter,
    jwks: { keys: [input.signingKey] },
    cookies: { keys: input.cookieKeys },
    clients: input.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      post_logout_redirect_uris: client.postLogoutRedirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    pkce: { required: () => true },
    // `groups` comes with `profile`, because relying parties ask for `openid profile email` by default;
    // a `groups` scope exists too for one that asks for it alone.
    scopes: ['openid'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'groups'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // Put the granted claims in the ID token too, so the relying party need not call userinfo.
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => {
      const user = accounts.get(sub);
      return user && accountOf(user);
    },
    loadExistingGrant: grantWhatIsRequested,
    clientBasedCORS: () => false,
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600 },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource: postLogoutSuccess(input.appUrl) },
    },
    renderError: async (ctx, out) => {
      input.logger.warn('dev_provider_error_page', { error: out.error, description: out.error_description });
      sendHtml(ctx, renderPage('Sign-in error', `<h1>Sign-in error</h1>
<p><strong>${escapeHtml(out.error ?? 'server_error')}</strong></p>
<p>${escapeHtml(out.error_description ?? '')}</p>
${backToApp(input.appUrl)}`));
    },
  };
}

function accountOf(user: DemoUser): Account {
  return {
    accountId: user.username,
    // oidc-provider keeps only the claims of the granted scopes.
    claims: () => ({
      sub: user.username,
      name: user.name,
      email: user.email,
      email_verified: user.email_verified,
      groups: [...user.groups],
    }),
  };
}

/** Dev convenience: consent is implied, every configured client gets the scopes and claims it asks for. */
async function grantWhatIsRequested(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { provider, client, account, session, result } = ctx.oidc;
  if (!client || !account) return undefined;
  const grantId = result?.consent?.grantId ?? session?.grantIdFor(client.clientId);
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  const grant = existing?.accountId === account.accountId
    ? existing
    : new provider.Grant({ accountId: account.accountId, clientId: client.clientId });
  if (ctx.oidc.requestParamOIDCScopes.size > 0) grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
  if (ctx.oidc.requestParamClaims.size > 0) grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
  await grant.save();
  return grant;
}

// OIDC RP-Initiated Logout 1.0 §2 lets the provider ask the user to confirm. The dev provider does
// not: the app's Log out already was the question, and a "No" here left the app signed out and
// the provider signed in, so the next Log in could not choose another demo user. `form` is the
// library's form carrying the anti-CSRF token; logout=yes ends the provider's session too.
const SUBMIT_LOGOUT = "document.getElementById('op.logoutForm').submit();";

async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  sendHtml(ctx, renderPage('Signing out', `<h1>Signing you out…</h1>
${form}
<input type="hidden" form="op.logoutForm" name="logout" value="yes">
<noscript><p><button type="submit" form="op.logoutForm" autofocus>Continue signing out</button></p></noscript>
<script>${SUBMIT_LOGOUT}</script>`), pageHeadersWithScript(SUBMIT_LOGOUT));
}

// Reached only without a post_logout_redirect_uri; the app always sends one, so this is a fallback.
function postLogoutSuccess(appUrl: string | undefined) {
  return async (ctx: KoaContextWithOIDC): Promise<void> => {
    sendHtml(ctx, renderPage('Signed out', `<h1>You are signed out</h1>${backToApp(appUrl)}`));
  };
}

export function backToApp(appUrl: string | undefined): string {
  return appUrl ? `<p><a class="button" href="${escapeHtml(appUrl)}/">Back to the app</a></p>` : '<p>Go back to the app.</p>';
}

function sendHtml(ctx: KoaContextWithOIDC, html: string, headers = pageHeaders()): void {
  ctx.set(headers);
  ctx.type = 'html';
  ctx.body = html;
}
