import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logging/logger.ts';
import type { MetadataSource } from './provider-metadata.ts';
import { readSessionUser } from './session-user.ts';
import type { SessionCookieAttributes } from '../sessions/session-cookie.ts';

export interface LogoutOptions {
  metadata: MetadataSource;
  clientId: string;
  postLogoutRedirectUri: string;
  cookieName: string;
  cookieOptions: SessionCookieAttributes;
  logger: Logger;
}

/**
 * Ends the session here first (row deleted, cookie cleared), then sends the browser to the
 * provider's end_session_endpoint (OIDC RP-Initiated Logout 1.0 §2) when it has one. A failure to
 * reach the provider never keeps the local session alive.
 */
export function createLogoutHandler(options: LogoutOptions): RequestHandler {
  return function logout(req, res, next) {
    const user = readSessionUser(req);
    const finish = async () => {
      res.clearCookie(options.cookieName, options.cookieOptions);
      res.set('Cache-Control', 'no-store');
      if (user) options.logger.info('logout', { sub: user.sub });
      if (prefersJson(req.get('accept'), req.get('sec-fetch-mode'))) {
        // Page scripts get the end-session URL without id_token_hint: the ID token stays on the server.
        res.json({ authenticated: false, redirectTo: user ? await endSessionUrl(options, undefined) : '/' });
      } else {
        res.redirect(303, user ? await endSessionUrl(options, user.idToken) : '/');
      }
    };
    if (!req.session) {
      finish().catch(next);
      return;
    }
    req.session.destroy((error?: unknown) => {
      if (error) return next(error instanceof AppError ? error : new AppError('session_store_unavailable', { cause: error }));
      finish().catch(next);
    });
  };
}

async function endSessionUrl(options: LogoutOptions, idToken: string | undefined): Promise<string> {
  try {
    const metadata = await options.metadata.get();
    if (!metadata.endSessionEndpoint) return '/';
    const url = new URL(metadata.endSessionEndpoint);
    if (idToken) url.searchParams.set('id_token_hint', idToken);
    url.searchParams.set('post_logout_redirect_uri', options.postLogoutRedirectUri);
    url.searchParams.set('client_id', options.clientId);
    // RP-Initiated Logout §2 makes state optional, but some providers (Glewlwyd) only return the
    // browser to post_logout_redirect_uri when one is present. Nothing here reads it back.
    url.searchParams.set('state', randomBytes(16).toString('base64url'));
    return url.toString();
  } catch {
    options.logger.warn('logout_provider_unreachable', {});
    return '/';
  }
}

function prefersJson(accept: string | undefined, fetchMode: string | undefined): boolean {
  return fetchMode !== 'navigate' && (accept ?? '').includes('application/json') && !(accept ?? '').includes('text/html');
}
