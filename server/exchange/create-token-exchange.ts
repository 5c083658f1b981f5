import { createHash } from 'node:crypto';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { ClientCredentials } from '../auth/client-auth.ts';
import type { ProviderHttpOptions } from '../auth/provider-http.ts';
import type { MetadataSource } from '../auth/provider-metadata.ts';
import type { SessionUser } from '../auth/session-user.ts';
import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logging/logger.ts';
import type { RedisConnection } from '../sessions/redis-client.ts';
import type { TokenSigner } from '../tokens/create-token-signer.ts';
import { createScopeResolver, type RequestedScope } from '../tokens/scope-for-request.ts';
import type { PermissionsResolver } from '../tokens/token-handler.ts';
import { JWT_TOKEN_TYPE, parseExchangeRequest, type ExchangeRequest } from './exchange-request.ts';
import { createExchangeLimits } from './limit-exchanges.ts';
import { createOAuthErrorHandler, OAuthError } from './oauth-error.ts';
import type { Subject } from './subject-claims.ts';
import { createSubjectTokenVerifier } from './verify-subject-token.ts';

// A subject token is a few KB at most (a JWT with claims); the downscoping request at most 8192 characters of per.
export const MAX_EXCHANGE_BODY_BYTES = 16 * 1024;
const SCOPE_NOT_GRANTED = 'Strict mode: the policy does not grant everything asked for; see dropped.';

export interface TokenExchangeOptions {
  audience: string;
  /** Set when TOKEN_EXCHANGE_INTROSPECTION is on: opaque tokens are introspected as this client. */
  introspection: ClientCredentials | undefined;
  perMinute: number;
  metadata: MetadataSource;
  signer: TokenSigner;
  permissionsFor: PermissionsResolver;
  logger: Logger;
  now: () => number;
  http?: ProviderHttpOptions;
  shared?: { redis: RedisConnection; keyPrefix: string };
}

interface ExchangeLocals {
  request: ExchangeRequest;
  subject: Subject;
}

/**
 * POST /token: RFC 8693 token exchange of a provider-issued access token for a Hivekit token,
 * for apps without a browser session (mobile, CLI, server jobs). No cookie is read or set and no
 * session exists here, so there is nothing for another site to ride on. The steps, in order:
 * read the capped form body, parse the request, verify the subject token, count the subject,
 * evaluate the policy on its claims, narrow as asked, mint. The last step formats every error.
 */
export function createTokenExchange(options: TokenExchangeOptions): [...RequestHandler[], ErrorRequestHandler] {
  const verify = createSubjectTokenVerifier({
    metadata: options.metadata, audience: options.audience, introspection: options.introspection, now: options.now, http: options.http,
  });
  const limits = createExchangeLimits({ perMinute: options.perMinute, now: options.now, shared: options.shared });
  const scopeFor = createScopeResolver();
  const parseBody = express.text({ type: 'application/x-www-form-urlencoded', limit: MAX_EXCHANGE_BODY_BYTES, inflate: false, defaultCharset: 'utf-8' });

  const readTokenRequestBody: RequestHandler = (req, res, next) => {
    parseBody(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      const { status, type } = error as { status?: number; type?: string };
      if (status === 413 && type === 'entity.too.large') return next(new AppError('payload_too_large', { detail: `token exchange body over ${MAX_EXCHANGE_BODY_BYTES} bytes` }));
      if (typeof status === 'number' && status < 500) return next(new OAuthError('invalid_request', 'The request body could not be read.', `body: ${type ?? status}`));
      return next(error);
    });
  };

  const parseTokenRequest: RequestHandler = (req, res, next) => {
    if (typeof req.body !== 'string') {
      throw new OAuthError('invalid_request', 'The request must be a form: Content-Type application/x-www-form-urlencoded.');
    }
    (res.locals as Partial<ExchangeLocals>).request = parseExchangeRequest(new URLSearchParams(req.body));
    next();
  };

  const verifySubjectToken: RequestHandler = (req, res, next) => {
    limits.checkAddress(req);
    const { request } = res.locals as ExchangeLocals;
    verify(request.subjectToken).then((subject) => {
      (res.locals as ExchangeLocals).subject = subject;
      res.locals.exchangeLog = { sub: subject.sub, client: subject.clientId, kind: subject.kind };
      next();
    }, (error: unknown) => {
      if (error instanceof OAuthError) limits.recordFailure(req);
      next(error);
    });
  };

  const limitSubject: RequestHandler = (_req, res, next) => {
    limits.countSubject((res.locals as ExchangeLocals).subject.sub).then(() => next(), next);
  };

  const mintExchangedToken: RequestHandler = (_req, res) => {
    const { request, subject } = res.locals as ExchangeLocals;
    const scope = scopeOf(request, subject);
    if (scope.kind === 'refused') throw new OAuthError('invalid_scope', SCOPE_NOT_GRANTED, 'strict request not granted in full', { dropped: scope.dropped });
    const minted = options.signer.mint(subject.sub, scope.per, scope.dpv);
    res.locals.logFields = { exchange: { sub: subject.sub, client: subject.clientId, kind: subject.kind, jti: minted.jti, expiresAt: minted.expiresAt } };
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    // RFC 8693 §2.2.1: the Hivekit token is a JWT but no OAuth access token for the caller, so token_type N_A.
    res.json({
      access_token: minted.token,
      issued_token_type: JWT_TOKEN_TYPE,
      token_type: 'N_A',
      expires_in: minted.expiresAt - Math.floor(options.now() / 1000),
      ...(scope.kind === 'narrowed' ? { dropped: scope.dropped } : {}),
    });
  };

  const scopeOf = (request: ExchangeRequest, subject: Subject): RequestedScope => {
    // The policy resolver remembers answers per session and login; here a subject token is both
    // (one key per access token: a client that renews with the same one costs a map lookup).
    const key = createHash('sha256').update(request.subjectToken).digest('base64url');
    const user: SessionUser = { sub: subject.sub, claims: subject.claims, idToken: key, loginAt: 0 };
    const granted = options.permissionsFor(user, `exchange:${key}`);
    try {
      return scopeFor(granted, request.scope.toString());
    } catch (error) {
      if (error instanceof AppError && error.code === 'bad_request') throw new OAuthError('invalid_request', error.message);
      throw error;
    }
  };

  return [readTokenRequestBody, parseTokenRequest, verifySubjectToken, limitSubject, mintExchangedToken, createOAuthErrorHandler(options.logger)];
}
