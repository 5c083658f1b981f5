import express, { type RequestHandler } from 'express';

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

/** The whole route table on one screen. Health checks come before sessions so they never touch the store. */
export function createRoutes(h: RouteHandlers): express.Router {
  const router = express.Router();
  router.get('/healthz', h.liveness);
  router.get('/readyz', h.readiness);
  router.get('/login', h.limitLogins, h.session, h.startLogin);
  router.get('/oauth2/redirect', h.limitLogins, h.session, h.finishLogin);
  router.post('/logout', h.refuseCrossSite, h.session, h.logout);
  router.options('/hivekit-access-token', h.cors);
  router.get('/hivekit-access-token', h.cors, h.refuseCrossSite, h.readSession, h.limitTokens, h.mintAccessToken);
  router.use(h.staticFiles);
  return router;
}
