import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * The only import of helmet. Two sets of headers, each computed once by helmet from configuration
 * and reused by every response:
 * - `documents` (pages, static files, redirects, every other route): a CSP with no inline script or
 *   style and no third-party origin, since the demo page is plain ES modules and a stylesheet;
 *   form-action must name the provider, because the logout form's 303 goes there and browsers apply
 *   form-action to redirects.
 * - `api`, for the token route's JSON: the OWASP REST Security Cheat Sheet's set (a CSP that allows
 *   nothing and no framing, nosniff, X-Frame-Options, HSTS over https) and helmet's
 *   Cross-Origin-Resource-Policy, which keeps other sites from loading a token as a no-cors
 *   resource. The document-only headers (COOP, Origin-Agent-Cluster, Referrer-Policy,
 *   X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection)
 *   do nothing for a JSON answer, and each costs the token route on every page load.
 */
export function securityHeaders(options: { providerOrigin: string; https: boolean }): { documents: RequestHandler; api: RequestHandler } {
  return { documents: setting(headersOf(createHelmet(options))), api: setting(headersOf(createApiHelmet(options))) };
}

function headersOf(middleware: ReturnType<typeof helmet>): Map<string, string> {
  const headers = new Map<string, string>();
  const recorder = { setHeader: (name: string, value: unknown) => { headers.set(name, String(value)); }, removeHeader: () => undefined };
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  if (headers.size === 0) throw new Error('helmet produced no headers');
  return headers;
}

function setting(headers: Map<string, string>): RequestHandler {
  return function setSecurityHeaders(_req, res, next) {
    res.setHeaders(headers);
    next();
  };
}

function createApiHelmet(options: { https: boolean }) {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
}

function createHelmet(options: { providerOrigin: string; https: boolean }) {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'", options.providerOrigin],
        ...(options.https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // HSTS over plain http would be ignored at best and pin a dev's localhost at worst.
    strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
}
