import type { RequestHandler } from 'express';

/**
 * Dev mode: a page opened at another address than PUBLIC_URL's (http://127.0.0.1:3000 for
 * http://localhost:3000) is sent to PUBLIC_URL's origin before anything is set. Cookies belong to
 * a host name: a login started at 127.0.0.1 sets its cookie there, the provider returns to
 * PUBLIC_URL's redirect_uri on localhost, and the callback finds no login ("cookies blocked or
 * another tab"). Health checks answer at any address; only page-like methods are redirected.
 */
export function redirectToPublicOrigin(publicUrl: string): RequestHandler {
  const origin = new URL(publicUrl).origin;
  const expectedHost = new URL(publicUrl).host;
  return function redirectToPublicOrigin(req, res, next) {
    const host = req.headers.host?.toLowerCase();
    if (host === undefined || host === expectedHost) return next();
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path === '/healthz' || req.path === '/readyz') return next();
    const target = new URL(req.url, origin);
    // A request target such as //other.example/x must never send the browser elsewhere.
    if (target.origin !== origin) return next();
    res.set('Cache-Control', 'no-store');
    res.redirect(302, target.href);
  };
}
