import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.ts';

const BFF_HEADER = 'X-Hivekit-BFF';

/**
 * Token and state-changing routes answer only this site. Browsers that send Fetch Metadata
 * (all current ones) must say `same-origin`; a top-level navigation typed by the user (`none`) is
 * allowed for safe methods only. Without Fetch Metadata a GET must carry X-Hivekit-BFF: a
 * cross-site `<img>`, `<script>` or link sends no Origin, so nothing else tells it apart, and no
 * other site can add a custom header without a CORS preflight, which only the allow-list passes.
 * A POST without Fetch Metadata is judged by Origin alone: browsers send Origin on every cross-site
 * POST, and the logout form (a navigation) cannot carry a header. An Origin header, when present,
 * must be ours; origins on the CORS allow-list may read tokens (GET only).
 */
export function refuseCrossSite(publicOrigin: string, corsAllowedOrigins: readonly string[] = []): RequestHandler {
  const allowed = new Set(corsAllowedOrigins);
  return function refuseCrossSiteRequest(req, _res, next) {
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    const safeMethod = req.method === 'GET' || req.method === 'HEAD';
    if (site === undefined && safeMethod && !req.get(BFF_HEADER)) {
      return next(new AppError('cross_site_request', {
        message: `Send the header "${BFF_HEADER}: 1": without Fetch Metadata (Sec-Fetch-Site) this endpoint answers only requests that carry it.`,
        detail: `no sec-fetch-site and no ${BFF_HEADER.toLowerCase()}`,
      }));
    }
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
