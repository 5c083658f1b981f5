import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * The only import of helmet. A CSP with no inline script or style and no third-party origin: the
 * demo page is plain ES modules and a stylesheet. form-action must name the provider, because the
 * logout form's 303 goes there and browsers apply form-action to redirects.
 */
export function securityHeaders(options: { providerOrigin: string; https: boolean }): RequestHandler {
  // The headers depend only on configuration: helmet computes them once, every response reuses them.
  const headers = new Map<string, string>();
  const recorder = { setHeader: (name: string, value: unknown) => { headers.set(name, String(value)); }, removeHeader: () => undefined };
  createHelmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  if (headers.size === 0) throw new Error('helmet produced no headers');
  return function setSecurityHeaders(_req, res, next) {
    res.setHeaders(headers);
    next();
  };
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
