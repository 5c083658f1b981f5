import type { RequestHandler } from 'express';
import cors from 'cors';

/**
 * The only import of cors. Off unless CORS_ALLOWED_ORIGINS names origins; then exactly those get
 * credentialed CORS on the token route (`Vary: Origin` always, no wildcard, no reflection of
 * anything else). The session cookie is SameSite=Lax, so only same-site origins (sibling
 * subdomains) actually send it.
 */
export function allowListedCors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  if (allowed.size === 0) return function noCors(_req, _res, next) { next(); };
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET'],
    allowedHeaders: ['X-Hivekit-BFF'],
    maxAge: 600,
  });
}
