import session from 'express-session';
import type { RequestHandler } from 'express';
import type { SessionCookie } from './session-cookie.ts';

/** express-session for the routes that change a session (login, callback, logout), over the session repository's store. */
export function createSessionMiddleware(options: { store: session.Store; cookie: SessionCookie }): RequestHandler {
  return session({
    name: options.cookie.name,
    secret: [...options.cookie.secrets],
    store: options.store,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'destroy',
    // Left undefined, express-session reads req.secure, which trusts X-Forwarded-Proto only from the
    // proxies the app's 'trust proxy' names (TRUST_PROXY); `true` would take it from any client.
    proxy: undefined,
    cookie: { ...options.cookie.attributes, maxAge: options.cookie.maxAgeMs },
  });
}
