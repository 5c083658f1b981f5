import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import type { JWTPayload } from 'jose';
import { jwtVerify } from 'jose/jwt/verify';
import type { Logger } from '../logging/logger.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import { createWindowCounter } from '../http/window-counter.ts';
import { ID_TOKEN_CLOCK_TOLERANCE_SECONDS } from './id-token-verifier.ts';
import { createProviderKeySet } from './provider-key-set.ts';
import type { ProviderHttpOptions } from './provider-http.ts';
import type { MetadataSource } from './provider-metadata.ts';

// OIDC Back-Channel Logout 1.0 §2.4: the event that makes a JWT a logout token.
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
// The provider sends the token as it ends the session: an older one was kept and replayed.
const MAX_TOKEN_AGE_SECONDS = 300;
const MAX_BODY = '16kb';
// Per provider address: generous, since one provider-side sign-out can end many sessions at once.
const REQUESTS_PER_MINUTE = 600;

class LogoutTokenError extends Error {}

/**
 * POST /backchannel-logout (OIDC Back-Channel Logout 1.0): the provider says a user or one of its
 * sessions signed out, and every session of ours it names ends at once, here and (through the
 * shared store) on every instance. Server to server: no cookie, no cross-site check; the signed
 * logout token is the only proof. Answers per §2.8: 200, or 400 with an OAuth error body.
 */
export function createBackchannelLogout(options: {
  clientId: string;
  metadata: MetadataSource;
  sessions: SessionRepository;
  logger: Logger;
  now: () => number;
  http?: ProviderHttpOptions;
}): Array<RequestHandler | ErrorRequestHandler> {
  const keySetFor = createProviderKeySet({ http: options.http });
  const count = createWindowCounter(60_000, options.now).count;

  const verify = async (logoutToken: string): Promise<JWTPayload> => {
    const metadata = await options.metadata.get();
    let header;
    try {
      header = decodeProtectedHeader(logoutToken);
    } catch {
      throw new LogoutTokenError('not a JWT');
    }
    // §2.4 recommends explicit typing; an ID token (typ JWT, or none) is told apart by its claims below.
    if (header.typ !== undefined && header.typ.toLowerCase() !== 'logout+jwt' && header.typ.toLowerCase() !== 'jwt') {
      throw new LogoutTokenError(`typ ${header.typ}`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(logoutToken, keySetFor(metadata.jwksUri), {
        issuer: metadata.issuer,
        audience: options.clientId,
        algorithms: metadata.idTokenSigningAlgs,
        clockTolerance: ID_TOKEN_CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        requiredClaims: ['iat', 'jti'],
        currentDate: new Date(options.now()),
      }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new LogoutTokenError(`rejected: ${typeof code === 'string' ? code : 'invalid'}`);
    }
    const events = payload.events;
    if (typeof events !== 'object' || events === null || typeof (events as Record<string, unknown>)[LOGOUT_EVENT] !== 'object') {
      throw new LogoutTokenError('no back-channel logout event');
    }
    if ('nonce' in payload) throw new LogoutTokenError('carries a nonce');
    const sub = payload.sub;
    const sid = (payload as { sid?: unknown }).sid;
    if (sub !== undefined && typeof sub !== 'string') throw new LogoutTokenError('sub is not a string');
    if (sid !== undefined && typeof sid !== 'string') throw new LogoutTokenError('sid is not a string');
    if (!sub && !sid) throw new LogoutTokenError('neither sub nor sid');
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 255) throw new LogoutTokenError('jti is not a string');
    return payload;
  };

  const receive: RequestHandler = (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    const { hits } = count(`ip:${req.ip ?? 'unknown'}`);
    if (hits > REQUESTS_PER_MINUTE) {
      res.status(429).set('Retry-After', '60').json({ error: 'temporarily_unavailable', error_description: 'too many logout requests' });
      return;
    }
    const logoutToken = (req.body as Record<string, unknown> | undefined)?.logout_token;
    if (typeof logoutToken !== 'string' || logoutToken.length === 0) {
      res.status(400).json({ error: 'invalid_request', error_description: 'logout_token is required' });
      return;
    }
    verify(logoutToken).then(async (payload) => {
      // §2.6: a jti seen before is refused, for as long as the token could be accepted.
      const ttlMs = (MAX_TOKEN_AGE_SECONDS + 2 * ID_TOKEN_CLOCK_TOLERANCE_SECONDS) * 1000;
      if (!(await options.sessions.claimOnce(`logout-jti:${payload.iss}:${payload.jti}`, ttlMs))) throw new LogoutTokenError('replayed jti');
      const sid = (payload as { sid?: string }).sid;
      const ended = await options.sessions.destroyOwnedBy(sid ? { providerSid: sid, ...(payload.sub ? { sub: payload.sub } : {}) } : { sub: payload.sub! });
      options.logger.info('backchannel_logout', { sub: payload.sub, ended });
      res.status(200).end();
    }).catch((error: unknown) => {
      if (error instanceof LogoutTokenError) {
        options.logger.warn('backchannel_logout_refused', { reason: error.message });
        res.status(400).json({ error: 'invalid_request', error_description: 'the logout token is not valid' });
        return;
      }
      next(error);
    });
  };

  // A body that is not a small form is the provider's mistake: say so as §2.8 asks, in its format.
  const refuseBadBody: ErrorRequestHandler = (error: { type?: string; status?: number }, _req, res, next) => {
    if (error.type === 'entity.too.large' || error.type === 'entity.parse.failed' || error.status === 400 || error.status === 413) {
      res.status(400).set('Cache-Control', 'no-store').json({ error: 'invalid_request', error_description: 'the body must be a small form with logout_token' });
      return;
    }
    next(error);
  };

  return [express.urlencoded({ extended: false, limit: MAX_BODY, parameterLimit: 10 }), receive, refuseBadBody];
}
