import type { JWK } from 'jose';
import type { Account, Adapter, Configuration, Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../logging/logger.ts';
import type { DemoUser } from './load-demo-users.ts';
import { escapeHtml } from '../http/escape-html.ts';
import { pageHeaders, renderPage } from './render-page.ts';

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
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    renderError: async (ctx, out) => {
      input.logger.warn('dev_provider_error_page', { error: out.error, description: out.error_description });
      sendHtml(ctx, renderPage('Sign-in error', `<h1>Sign-in error</h1>
<p><strong>${escapeHtml(out.error ?? 'server_error')}</strong></p>
<p>${escapeHtml(out.error_description ?? '')}</p>`));
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

// OIDC RP-Initiated Logout 1.0 §2: the provider asks the user to confirm; `form` is the library's
// hidden form carrying the anti-CSRF token, the buttons below submit it.
async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  sendHtml(ctx, renderPage('Sign out', `<h1>Sign out of the dev OpenID provider?</h1>
${form}
<p><button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></p>`));
}

async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  sendHtml(ctx, renderPage('Signed out', '<h1>You are signed out</h1><p>You can close this page.</p>'));
}

function sendHtml(ctx: KoaContextWithOIDC, html: string): void {
  ctx.set(pageHeaders());
  ctx.type = 'html';
  ctx.body = html;
}
