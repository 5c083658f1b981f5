import { createHash, randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import OpenIDConnectStrategy from 'passport-openidconnect';
import { AppError } from '../errors/app-error.ts';
import { requestLogger } from '../http/log-requests.ts';
import type { Logger } from '../logging/logger.ts';
import { classifyFailure, deliverSafely, providerRefusal, readCallbackParams, type LoginFailure } from './callback-outcome.ts';
import type { IdTokenVerifier } from './id-token-verifier.ts';
import { rememberPendingLogin, takePendingLogin, type PendingLogin } from './pending-logins.ts';
import { requireAuthMethod, type ClientCredentials } from './client-auth.ts';
import { exchangeCode } from './provider-calls.ts';
import type { ProviderHttpOptions } from './provider-http.ts';
import type { MetadataSource, ProviderMetadata } from './provider-metadata.ts';
import { toLocalPath } from './return-to.ts';
import { readSessionUser, type SessionUser } from './session-user.ts';
import { CREATED_AT_KEY } from '../sessions/session-expiry.ts';
import type { Sealer } from '../sessions/seal.ts';
import { claimsFromIdToken } from './provider-claims.ts';
import { sealGrant } from './provider-grant.ts';

export interface OidcLoginOptions {
  client: ClientCredentials & { redirectUri: string; scope: string };
  metadata: MetadataSource;
  verifier: IdTokenVerifier;
  logger: Logger;
  now?: () => number;
  http?: ProviderHttpOptions;
  /** Seals the provider's tokens into the session, for re-validating its claims (auth/refresh-claims.ts). */
  sealer?: Sealer;
  /** Ask for offline_access (a refresh token) when the provider offers it. */
  requestOfflineAccess?: boolean;
}

type Done = (error: unknown, user?: unknown, info?: unknown) => void;
type StrategyInternals = {
  _oauth2: { getOAuthAccessToken: (code: string, params: Record<string, string>, cb: (...args: unknown[]) => void) => void };
  _stateStore: unknown;
  authorizationParams: (options: unknown) => Record<string, string>;
};

/**
 * The only import of passport-openidconnect. The library keeps the protocol's shape (redirect,
 * state handling, its claim checks); this adapter closes what 0.1.2 leaves open: discovery with an
 * exact issuer match, PKCE S256, the token request with a timeout and size cap, the ID token's
 * signature and claims verified by jose, userinfo read without crashing on a bad answer, and
 * redirect_uri from PUBLIC_URL rather than the Host header. Only query callbacks are accepted,
 * which is also what SameSite=Lax cookies need.
 */
export function createOidcLogin(options: OidcLoginOptions) {
  const now = options.now ?? Date.now;
  const passport = new Passport();
  passport.serializeUser((user, done) => done(null, user));
  const initialize = passport.initialize();

  /** One strategy per request: it carries this request's PKCE verifier, and the provider's latest metadata. */
  const buildStrategy = (metadata: ProviderMetadata, pending: Pending, fail: (error: unknown) => void) => {
    const strategy = new OpenIDConnectStrategy({
      issuer: metadata.issuer,
      authorizationURL: metadata.authorizationEndpoint,
      tokenURL: metadata.tokenEndpoint,
      clientID: options.client.clientId,
      clientSecret: options.client.clientSecret,
      callbackURL: options.client.redirectUri,
      // The library prepends `openid` itself. offline_access asks for a refresh token, which lets the
      // claims be re-validated without the user (OIDC Core §11); only where the provider offers it.
      scope: [
        ...options.client.scope.split(/\s+/).filter((s) => s && s !== 'openid'),
        ...(options.requestOfflineAccess && metadata.scopesSupported?.includes('offline_access') && !/\boffline_access\b/.test(options.client.scope) ? ['offline_access'] : []),
      ],
      nonce: true,
      passReqToCallback: true,
      skipUserProfile: true,
      store: createStateStore(now, pending, fail),
    }, verifyLogin(metadata, fail)) as unknown as StrategyInternals;

    strategy._oauth2.getOAuthAccessToken = (code, params, callback) => {
      exchangeCode(metadata, options.client, { ...params, code, code_verifier: pending.codeVerifier ?? '' }, now(), options.http).then(
        (tokens) => deliverSafely(() => callback(null, tokens.access_token, tokens.refresh_token, tokens), fail),
        // The library wraps this as InternalOAuthError and keeps ours as `oauthError`.
        (error: unknown) => deliverSafely(() => callback(error), fail),
      );
    };
    return strategy;
  };

  // Arity 9 with passReqToCallback: the library passes the raw ID token, which is what we verify.
  const verifyLogin = (metadata: ProviderMetadata, fail: (error: unknown) => void) =>
    function verify(_req: Request, _iss: string, _profile: unknown, _ctx: unknown, idToken: string,
      accessToken: string, refreshToken: string, params: unknown, done: Done) {
      completeVerification(metadata, idToken, accessToken, refreshToken, params).then(
        (user) => deliverSafely(() => done(null, user), fail),
        (error: unknown) => deliverSafely(() => done(error), fail),
      );
    };

  const completeVerification = async (
    metadata: ProviderMetadata, idToken: string, accessToken: string, refreshToken: string | undefined, tokens: unknown,
  ): Promise<SessionUser> => {
    const verified = await claimsFromIdToken({ verifier: options.verifier, metadata, idToken, accessToken, http: options.http });
    const loginAt = now();
    return {
      sub: verified.sub,
      name: verified.name,
      email: verified.email,
      claims: verified.claims,
      idToken,
      loginAt,
      claimsCheckedAt: loginAt,
      userinfoClaims: verified.userinfoClaims,
      ...(verified.providerSid ? { providerSid: verified.providerSid } : {}),
      ...(options.sealer ? { grant: sealGrant(options.sealer, accessToken, refreshToken, tokens, loginAt) } : {}),
    };
  };

  const startLogin: RequestHandler = (req, res, next) => {
    options.metadata.get().then((metadata) => {
      // Before the user meets the provider: a login that cannot finish should not start.
      requireAuthMethod(options.client, metadata);
      const codeVerifier = randomBytes(32).toString('base64url');
      const strategy = buildStrategy(metadata, {}, next);
      // RFC 7636 §4.2: S256 challenge of the verifier.
      // OIDC Core §3.1.2.1: prompt=login makes the provider ask for credentials even with a session
      // of its own there ("Log in as someone else"); no other prompt value is passed on.
      const promptLogin = req.query.prompt === 'login';
      strategy.authorizationParams = () => ({
        code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
        code_challenge_method: 'S256',
        ...(promptLogin ? { prompt: 'login' } : {}),
      });
      const returnTo = toLocalPath(req.query.returnTo);
      // The library treats any request carrying `code` or `error` as a callback; /login only ever starts one.
      Object.defineProperty(req, 'query', { value: {}, configurable: true });
      initialize(req, res, () => {
        // The library hands `state` to our state store as its app state.
        passport.authenticate(strategy as never, { state: { codeVerifier, returnTo } } as never)(req, res, next);
      });
    }).catch(next);
  };

  const finishLogin: RequestHandler = (req, res, next) => {
    const refuse = (failure: LoginFailure) => refuseLogin(req, res, next, failure);
    const params = readCallbackParams(req.query as Record<string, unknown>);
    if (params.kind === 'malformed') return refuse({ code: 'login_failed', detail: params.detail });
    if (params.kind === 'error') {
      // The state is checked (and spent) first: another site cannot make us show "access denied".
      const taken = takePendingLogin(req.session as unknown as Record<string, unknown> | undefined, params.state, now());
      return refuse('failure' in taken ? { code: taken.failure, detail: `state: ${taken.failure}` } : providerRefusal(params.error));
    }
    options.metadata.get().then((metadata) => {
      const pending: Pending = {};
      const fail = (error: unknown) => refuse(classifyFailure(error, undefined));
      const strategy = buildStrategy(metadata, pending, fail);
      initialize(req, res, () => {
        passport.authenticate(strategy as never, (error: unknown, user: SessionUser | false, info: unknown) => {
          if (error || !user) return refuse(classifyFailure(error, info));
          (req.session as unknown as Record<string, unknown>)[CREATED_AT_KEY] = now();
          // keepSessionInfo carries other tabs' pending logins into the regenerated session.
          req.logIn(user, { keepSessionInfo: true } as never, (loginError?: unknown) => {
            if (loginError) return next(loginError);
            requestLogger(res, options.logger).info('login', { sub: user.sub, issuer: metadata.issuer });
            res.redirect(303, pending.returnTo ?? '/');
          });
        })(req, res, next);
      });
    }).catch((error: unknown) => refuse(classifyFailure(error, undefined)));
  };

  const refuseLogin = (req: Request, res: Response, next: NextFunction, failure: LoginFailure) => {
    if (res.headersSent) return;
    if (failure.code === 'session_store_unavailable') return next(new AppError(failure.code, { detail: failure.detail }));
    // A stale tab or the back button after a successful login: the user is signed in, so just go home.
    if ((failure.code === 'state_mismatch' || failure.code === 'login_expired') && readSessionUser(req)) {
      res.redirect(303, '/');
      return;
    }
    // The provider down or lying is an outage operators must see; a user's own failed login is not.
    requestLogger(res, options.logger)[PROVIDER_OUTAGES.has(failure.code) ? 'warn' : 'info']('login_refused', { error: failure.code, detail: failure.detail, client: req.ip });
    res.redirect(303, `/?login_error=${failure.code}`);
  };

  return { startLogin, finishLogin };
}

type Pending = { codeVerifier?: string; returnTo?: string };

const PROVIDER_OUTAGES = new Set<string>(['provider_unavailable', 'provider_error']);

function createStateStore(now: () => number, pending: Pending, fail: (error: unknown) => void) {
  return {
    store(req: Request, ctx: { nonce?: string }, appState: { codeVerifier: string; returnTo: string }, _meta: unknown,
      callback: (error: unknown, handle?: string) => void) {
      if (!req.session) return callback(new AppError('session_store_unavailable', { detail: 'no session on login' }));
      const login: PendingLogin = { nonce: ctx.nonce, codeVerifier: appState.codeVerifier, returnTo: appState.returnTo, createdAt: now() };
      const handle = rememberPendingLogin(req.session as unknown as Record<string, unknown>, login);
      // Saved before the redirect: a store that cannot write must fail here with a 503, not later as a baffling state mismatch.
      return req.session.save((error?: unknown) => deliverSafely(() => (error ? callback(error) : callback(null, handle)), fail));
    },
    verify(req: Request, handle: unknown, callback: (error: unknown, ctx?: unknown, state?: unknown) => void) {
      const taken = takePendingLogin(req.session as unknown as Record<string, unknown> | undefined, handle, now());
      if ('failure' in taken) return callback(null, false, { reason: taken.failure });
      pending.codeVerifier = taken.login.codeVerifier;
      pending.returnTo = taken.login.returnTo;
      return callback(null, { nonce: taken.login.nonce }, {});
    },
  };
}
