import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.ts';

/**
 * Token and state-changing routes answer only this site. Browsers that send Fetch Metadata
 * (all current ones) must say `same-origin`; a top-level navigation typed by the user (`none`) is
 * allowed for safe methods only. Without Fetch Metadata an Origin header, when present, must be ours.
 * Non-browser clients send neither and carry the cookie themselves, so they pass. Origins on the
 * CORS allow-list may read tokens (GET only).
 */
export function refuseCrossSite(publicOrigin: string, corsAllowedOrigins: readonly string[] = []): RequestHandler {
  const allowed = new Set(corsAllowedOrigins);
  return function refuseCrossSiteRequest(req, _res, next) {
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    const safeMethod = req.method === 'GET' || req.method === 'HEAD';
    if (safeMethod && origin !== undefined && allowed.has(origin)) return next();
    if (site !== undefined) {
      if (site === 'same-origin' || (site === 'none' && safeMethod)) return next();
      return next(new AppError('cross_site_request', { detail: `sec-fetch-site: ${site.slice(0, 20)}` }));
    }
    if (origin !== undefined && origin !== publicOrigin) {
      return next(new AppError('cross_site_request', { detail: 'origin is not this site' }));
    }
    return next();
  };
}
