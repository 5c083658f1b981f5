import type { RequestHandler } from 'express';
import type { Logger } from '../logging/logger.ts';

/**
 * With TRUST_PROXY off, an X-Forwarded-For means a proxy stands in front that is not trusted:
 * every user then shares the proxy's address for the login rate limit. Said once, at the first
 * such request; after that this step costs one boolean test.
 */
export function warnUntrustedForwardedFor(logger: Logger): RequestHandler {
  let warned = false;
  return function warnForwardedForIgnored(req, _res, next) {
    if (!warned && req.headers['x-forwarded-for'] !== undefined) {
      warned = true;
      logger.warn('forwarded_for_ignored', {
        setting: 'TRUST_PROXY',
        message: 'a request came with X-Forwarded-For but TRUST_PROXY is false: rate limits and logs see the proxy\'s address for every user; '
          + 'set TRUST_PROXY to the hop count of your proxies (usually 1) or their addresses',
        client: req.ip,
      });
    }
    next();
  };
}
