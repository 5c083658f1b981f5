import type { RequestHandler } from 'express';
import { answeredErrorCode } from '../errors/error-handler.ts';
import type { Metrics } from './create-metrics.ts';

// The route table's paths: a label is one of these or "other", never what a client typed.
const ROUTES = new Set(['/login', '/oauth2/redirect', '/logout', '/hivekit-access-token', '/token', '/backchannel-logout', '/readyz']);
const LOGIN_ERROR = /[?&]login_error=([a-z_]{1,40})(?:&|$)/;

/** Counts each answer once it has gone out: tokens, logins (with the callback's duration), refusals. */
export function observeRequests(metrics: Metrics, now: () => number = performance.now.bind(performance)): RequestHandler {
  return function observeRequest(req, res, next) {
    const started = now();
    res.on('finish', () => {
      const route = ROUTES.has(req.path) ? req.path : 'other';
      const code = answeredErrorCode(res);
      if (route === '/hivekit-access-token') {
        if (res.statusCode === 200) metrics.tokenMinted();
        else metrics.tokenRefused(code ?? (res.statusCode === 401 ? 'unauthenticated' : `http_${res.statusCode}`));
      } else if (route === '/oauth2/redirect') {
        // A refused login goes back to the page as /?login_error=CODE (the README's contract).
        const refusal = code ?? LOGIN_ERROR.exec(String(res.getHeader('location') ?? ''))?.[1];
        metrics.login(refusal === undefined && res.statusCode < 400 ? 'success' : 'refused', refusal ?? (res.statusCode < 400 ? '' : `http_${res.statusCode}`), (now() - started) / 1000);
      }
      if (code === 'rate_limited') metrics.rateLimited(route);
      if (code === 'session_store_unavailable') metrics.sessionStoreError(route);
    });
    next();
  };
}
