import type express from 'express';
import type { RequestHandler } from 'express';

export interface RouteHandlers {
  session: RequestHandler;
  /** Read-only session for the token route (sessions/session-reader.ts). */
  readSession: RequestHandler;
  limitLogins: RequestHandler;
  limitTokens: RequestHandler;
  refuseCrossSite: RequestHandler;
  cors: RequestHandler;
  startLogin: RequestHandler;
  finishLogin: RequestHandler;
  logout: RequestHandler;
  mintAccessToken: RequestHandler;
  liveness: RequestHandler;
  readiness: RequestHandler;
  staticFiles: RequestHandler;
}

/**
 * The whole route table on one screen, registered on the app itself: a nested router would add its
 * own layer walk to every request. Sessions are per route, so health checks never touch the store.
 * The token route comes first because every route above it is one more path match on the hot path.
 */
export function addRoutes(app: express.Express, h: RouteHandlers): void {
  app.get('/hivekit-access-token', h.cors, h.refuseCrossSite, h.readSession, h.limitTokens, h.mintAccessToken);
  app.options('/hivekit-access-token', h.cors);
  app.get('/healthz', h.liveness);
  app.get('/readyz', h.readiness);
  app.get('/login', h.limitLogins, h.session, h.startLogin);
  app.get('/oauth2/redirect', h.limitLogins, h.session, h.finishLogin);
  app.post('/logout', h.refuseCrossSite, h.session, h.logout);
  app.use(h.staticFiles);
}
