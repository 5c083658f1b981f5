import session from 'express-session';
import type { RequestHandler } from 'express';

export interface SessionCookieSettings {
  name: string;
  options: { path: string; httpOnly: boolean; secure: boolean; sameSite: 'lax' };
}

/**
 * `__Host-` pins the cookie to this exact origin over https (no Domain, Path=/, Secure). SameSite
 * Lax still sends it on the provider's top-level redirect back to /oauth2/redirect.
 */
export function sessionCookieSettings(secure: boolean): SessionCookieSettings {
  return {
    name: secure ? '__Host-hivekit.sid' : 'hivekit.sid',
    options: { path: '/', httpOnly: true, secure, sameSite: 'lax' },
  };
}

export function createSessionMiddleware(options: {
  store: session.Store;
  secrets: readonly string[];
  cookie: SessionCookieSettings;
  absoluteTimeoutSeconds: number;
}): RequestHandler {
  return session({
    name: options.cookie.name,
    secret: [...options.secrets],
    store: options.store,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'destroy',
    // Left undefined, express-session reads req.secure, which trusts X-Forwarded-Proto only from the
    // proxies the app's 'trust proxy' names (TRUST_PROXY); `true` would take it from any client.
    proxy: undefined,
    // The browser may keep the cookie for the absolute lifetime; the store enforces the idle one.
    cookie: { ...options.cookie.options, maxAge: options.absoluteTimeoutSeconds * 1000 },
  });
}
