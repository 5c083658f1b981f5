import express, { type ErrorRequestHandler, type RequestHandler } from 'express';

export interface RouteHandlers {
  /** Security headers (http/security-headers.ts): the token route's JSON set, and everything else's. */
  apiHeaders: RequestHandler;
  documentHeaders: RequestHandler;
  session: RequestHandler;
  /** The token route's session, read-only (sessions/session-reader.ts): the signed cookie's id, then the row. */
  identifySession: RequestHandler;
  readSession: RequestHandler;
  limitLogins: RequestHandler;
  limitTokens: RequestHandler;
  refuseCrossSite: RequestHandler;
  cors: RequestHandler;
  startLogin: RequestHandler;
  /** Production: refuses a login started at another host than PUBLIC_URL's (http/refuse-login-at-other-host.ts). */
  refuseOtherHost?: RequestHandler;
  finishLogin: RequestHandler;
  logout: RequestHandler;
  /** Re-validates a session's claims with the provider when they are older than the max age (auth/revalidate-claims.ts). */
  revalidateClaims: RequestHandler;
  mintAccessToken: RequestHandler;
  /** POST /backchannel-logout (OIDC Back-Channel Logout 1.0), its last step an error handler. */
  backchannelLogout: Array<RequestHandler | ErrorRequestHandler>;
  /** POST /token (RFC 8693), its last step an error handler; absent while token exchange is off. */
  exchangeToken?: Array<RequestHandler | ErrorRequestHandler>;
  liveness: RequestHandler;
  readiness: RequestHandler;
  staticFiles: RequestHandler;
  /** Dev mode only: which policy rule granted what (dev/explain-permissions-handler.ts). */
  explainPermissions?: RequestHandler;
}

/**
 * The whole route table on one screen. Sessions are per route, so health checks never touch the
 * store. The token route is mounted on the app itself, first: it runs on every page load, and a
 * router of its own would be one more dispatch per token. The others share a router so that an
 * OPTIONS request nothing else answers gets Express's `Allow` reply when that router's table runs
 * out, before the app's not-found handler.
 */
export function mountRoutes(app: express.Express, h: RouteHandlers): void {
  // Limited before the read: a refused request reads no session and extends nothing (with Redis,
  // one script counts the session's request and reads it only when within the limit).
  app.get('/hivekit-access-token', h.apiHeaders, h.cors, h.refuseCrossSite, h.identifySession, h.limitTokens, h.readSession, h.revalidateClaims, h.mintAccessToken);
  app.options('/hivekit-access-token', h.apiHeaders, h.cors, answerAllow('GET, HEAD'));
  const router = express.Router();
  // First in this router, so every answer after it has them, the not-found and error answers too.
  router.use(h.documentHeaders);
  router.get('/healthz', h.liveness);
  router.get('/readyz', h.readiness);
  router.get('/login', h.limitLogins, h.session, ...(h.refuseOtherHost ? [h.refuseOtherHost] : []), h.startLogin);
  router.get('/oauth2/redirect', h.limitLogins, h.session, h.finishLogin);
  router.post('/logout', h.refuseCrossSite, h.session, h.logout);
  // Server to server, proven by the provider's signed logout token: no cookie and no cross-site check.
  router.post('/backchannel-logout', ...h.backchannelLogout);
  // No session, no cookie and no cross-site check: the caller proves itself with the subject token alone.
  if (h.exchangeToken) router.post('/token', ...h.exchangeToken);
  if (h.explainPermissions) router.get('/dev/permissions', h.refuseCrossSite, h.identifySession, h.readSession, h.explainPermissions);
  router.use(h.staticFiles);
  app.use(router);
}

/** What Express answers an OPTIONS request with when a router's table runs out (the token route has none around it). */
function answerAllow(methods: string): RequestHandler {
  return function answerOptions(_req, res) {
    res.set({ Allow: methods, 'Content-Type': 'text/plain; charset=utf-8' }).send(methods);
  };
}
