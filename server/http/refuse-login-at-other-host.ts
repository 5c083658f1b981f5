import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.ts';

/**
 * Outside dev mode (where redirect-to-public-origin.ts sends the browser over instead), a login
 * never starts at a host other than PUBLIC_URL's: its pending-login cookie would belong to that
 * host, and the provider returns to PUBLIC_URL, where the callback cannot find it. Refused rather
 * than redirected: behind a proxy that rewrites Host, a redirect would loop.
 */
export function refuseLoginAtOtherHost(publicUrl: string): RequestHandler {
  const expected = new URL(publicUrl);
  return function refuseLoginAtOtherHost(req, _res, next) {
    // Express 5: the Host header, or X-Forwarded-Host from a proxy TRUST_PROXY names.
    const host = req.host?.toLowerCase();
    if (host === undefined || host === expected.host) return next();
    return next(new AppError('wrong_host', {
      message: `Sign in at ${expected.origin}, the address this service is configured for (PUBLIC_URL).`,
      detail: `login requested for host ${host.slice(0, 100)}; a proxy must pass the browser's Host (nginx: proxy_set_header Host $http_host) or X-Forwarded-Host with TRUST_PROXY`,
    }));
  };
}
