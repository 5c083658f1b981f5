import express from 'express';
import { createBackchannelLogout } from './auth/backchannel-logout.ts';
import { createLogoutHandler } from './auth/logout.ts';
import { createClaimsRevalidation } from './auth/revalidate-claims.ts';
import { createSealer } from './sessions/seal.ts';
import { createOidcLogin } from './auth/oidc-adapter.ts';
import type { IdTokenVerifier } from './auth/id-token-verifier.ts';
import type { ProviderHttpOptions } from './auth/provider-http.ts';
import type { MetadataSource } from './auth/provider-metadata.ts';
import type { Config } from './config/load-config.ts';
import { AppError } from './errors/app-error.ts';
import { explainPermissionsHandler } from './dev/explain-permissions-handler.ts';
import { createErrorHandler } from './errors/error-handler.ts';
import { createTokenExchange } from './exchange/create-token-exchange.ts';
import { liveness, readiness } from './http/health-handlers.ts';
import { logRequests } from './http/log-requests.ts';
import { allowListedCors } from './http/allow-listed-cors.ts';
import { createRateLimits } from './http/rate-limits.ts';
import { refuseLoginAtOtherHost } from './http/refuse-login-at-other-host.ts';
import { redirectToPublicOrigin } from './http/redirect-to-public-origin.ts';
import { refuseCrossSite } from './http/refuse-cross-site.ts';
import { securityHeaders } from './http/security-headers.ts';
import { warnUntrustedForwardedFor } from './http/warn-untrusted-forwarded-for.ts';
import { mountRoutes } from './http/routes.ts';
import { series } from './http/series.ts';
import type { Logger } from './logging/logger.ts';
import type { Metrics } from './metrics/create-metrics.ts';
import { observeRequests } from './metrics/observe-requests.ts';
import { packagePath } from './package-path.ts';
import { createSessionCookie } from './sessions/session-cookie.ts';
import { createSessionMiddleware } from './sessions/session-middleware.ts';
import { createSessionReader } from './sessions/session-reader.ts';
import type { RedisConnection } from './sessions/redis-client.ts';
import type { SessionRepository } from './sessions/session-repository.ts';
import { createTokenSigner, fixedKey, type HivekitKeySource } from './tokens/create-token-signer.ts';
import { createTokenHandler, type PermissionsResolver } from './tokens/token-handler.ts';

export interface AppDependencies {
  sessionStore: SessionRepository;
  metadata: MetadataSource;
  verifier: IdTokenVerifier;
  logger: Logger;
  permissionsFor?: PermissionsResolver;
  /** Milliseconds since the epoch. */
  now?: () => number;
  publicDir?: string;
  /** Timeouts and size caps of calls to the provider (tests shorten them). */
  providerHttp?: ProviderHttpOptions;
  /** Several instances: the Redis that the rate limits count in (SESSION_STORE=redis). */
  sharedLimits?: { redis: RedisConnection; keyPrefix: string };
  /** Whether the provider works now (reported by /readyz); metadata loaded when not given. */
  providerUp?: () => boolean;
  /** True once shutdown has begun: /readyz answers 503. */
  isDraining?: () => boolean;
  /** Counted when given (METRICS_PORT set). */
  metrics?: Metrics;
  /** The Hivekit key in force (HIVEKIT_SECRET_FILE's holder); config.hivekit's when not given. */
  hivekitKeys?: HivekitKeySource;
}

const DEFAULT_PUBLIC_DIR = packagePath('public');
const noPermissions: PermissionsResolver = () => ({ per: {}, dpv: {} });

/** Static files answered successfully get no request log line (log-requests.ts reads the mark). */
function quietly(serve: express.RequestHandler): express.RequestHandler {
  return function serveStaticFile(req, res, next) {
    res.locals.staticFile = true;
    serve(req, res, (error?: unknown) => {
      res.locals.staticFile = false;
      next(error);
    });
  };
}

/** Builds the Express app from a validated config and injected parts; no I/O happens here. */
export function createApp(config: Config, deps: AppDependencies): express.Express {
  const now = deps.now ?? Date.now;
  const cookie = createSessionCookie({
    secure: config.session.cookieSecure, secrets: config.session.secrets, absoluteTimeoutSeconds: config.session.absoluteTimeoutSeconds,
  });
  const client = {
    clientId: config.oidc.clientId,
    clientSecret: config.oidc.clientSecret,
    authMethod: config.oidc.tokenEndpointAuthMethod,
    clientKey: config.oidc.clientKey,
  };
  // The provider's tokens kept for re-validating claims are sealed under the session secrets.
  const sealer = createSealer(config.session.secrets);
  const login = createOidcLogin({
    client: { ...client, redirectUri: config.oidc.redirectUri, scope: config.oidc.scope },
    metadata: deps.metadata,
    verifier: deps.verifier,
    logger: deps.logger,
    now,
    http: deps.providerHttp,
    sealer,
    requestOfflineAccess: config.oidc.requestOfflineAccess,
  });
  const signer = createTokenSigner({
    keys: deps.hivekitKeys ?? fixedKey({ kid: config.hivekit.secretId, secret: config.hivekit.secret }),
    issuer: config.hivekit.issuer,
    tenantId: config.hivekit.tenantId,
    ttlSeconds: config.hivekit.tokenTtlSeconds,
    now,
  });

  const limits = createRateLimits({ ...config.rateLimits, now, shared: deps.sharedLimits });

  const app = express();
  app.disable('x-powered-by');
  // Every JSON answer here is no-store and the token one unique per request: an ETag is wasted hashing.
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  // What every request goes through, as one layer (series.ts): the token route pays for each layer.
  app.use(series([
    logRequests(deps.logger),
    ...(config.devMode ? [redirectToPublicOrigin(config.publicUrl)] : []),
    ...(deps.metrics ? [observeRequests(deps.metrics)] : []),
    ...(config.trustProxy === false ? [warnUntrustedForwardedFor(deps.logger)] : []),
  ]));
  const headers = securityHeaders({ providerOrigin: new URL(config.oidc.issuer).origin, https: config.session.cookieSecure });
  mountRoutes(app, {
    apiHeaders: headers.api,
    documentHeaders: headers.documents,
    session: createSessionMiddleware({ store: deps.sessionStore.store, cookie }),
    limitLogins: limits.login,
    limitTokens: limits.token,
    ...createSessionReader({ sessions: deps.sessionStore, cookie, logger: deps.logger, limit: limits.tokenSessions }),
    refuseCrossSite: refuseCrossSite(config.publicUrl, config.corsAllowedOrigins),
    cors: allowListedCors(config.corsAllowedOrigins),
    startLogin: login.startLogin,
    ...(config.devMode ? {} : { refuseOtherHost: refuseLoginAtOtherHost(config.publicUrl) }),
    finishLogin: login.finishLogin,
    logout: createLogoutHandler({
      metadata: deps.metadata,
      clientId: config.oidc.clientId,
      postLogoutRedirectUri: config.oidc.postLogoutRedirectUri,
      cookieName: cookie.name,
      cookieOptions: cookie.attributes,
      logger: deps.logger,
    }),
    revalidateClaims: createClaimsRevalidation({
      freshness: config.claims, sessions: deps.sessionStore, metadata: deps.metadata, client, verifier: deps.verifier,
      sealer, logger: deps.logger, now, http: deps.providerHttp,
    }),
    mintAccessToken: createTokenHandler({ signer, permissionsFor: deps.permissionsFor ?? noPermissions }),
    backchannelLogout: createBackchannelLogout({
      clientId: config.oidc.clientId, metadata: deps.metadata, sessions: deps.sessionStore, logger: deps.logger, now, http: deps.providerHttp,
    }),
    exchangeToken: config.tokenExchange && createTokenExchange({
      ...config.tokenExchange,
      // Introspection authenticates as this service's client, the way its logins do at the token endpoint.
      introspection: config.tokenExchange.introspection ? {
        clientId: config.oidc.clientId, clientSecret: config.oidc.clientSecret, authMethod: config.oidc.tokenEndpointAuthMethod, clientKey: config.oidc.clientKey,
      } : undefined,
      metadata: deps.metadata,
      signer,
      permissionsFor: deps.permissionsFor ?? noPermissions,
      logger: deps.logger,
      now,
      http: deps.providerHttp,
      shared: deps.sharedLimits,
    }),
    liveness: liveness(),
    readiness: readiness({
      sessionStore: deps.sessionStore.isHealthy,
      sessionStoreName: deps.sessionStore.name,
      provider: deps.providerUp ?? deps.metadata.isLoaded,
      refreshProvider: () => { deps.metadata.get().catch(() => undefined); },
      isDraining: deps.isDraining ?? (() => false),
    }),
    explainPermissions: config.devMode ? explainPermissionsHandler(deps.permissionsFor?.explain) : undefined,
    staticFiles: quietly(express.static(deps.publicDir ?? config.staticDir ?? DEFAULT_PUBLIC_DIR, { index: 'index.html', redirect: false })),
  });
  app.use((_req, _res, next) => next(new AppError('not_found')));
  app.use(createErrorHandler(deps.logger));
  return app;
}
