import type { RequestHandler } from 'express';
import { boundedCache } from '../bounded-cache.ts';
import { AppError } from '../errors/app-error.ts';
import { describeError } from '../errors/describe-error.ts';
import type { Logger } from '../logging/logger.ts';
import type { Sealer } from '../sessions/seal.ts';
import type { SessionRecord } from '../sessions/session-record.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import type { ClientCredentials } from './client-auth.ts';
import type { IdTokenVerifier } from './id-token-verifier.ts';
import { claimsFromIdToken, claimsFromUserinfo, type ProviderClaims } from './provider-claims.ts';
import { readUserinfo, refreshTokens, sealGrant, type GrantAnswer } from './provider-grant.ts';
import type { ProviderHttpOptions } from './provider-http.ts';
import type { MetadataSource } from './provider-metadata.ts';
import type { SessionUser } from './session-user.ts';

export interface ClaimsFreshness {
  /** After this long the claims are re-validated with the provider before the next token. */
  maxAgeSeconds: number;
  /** While the provider cannot be asked, the last good claims serve this long past the max age; then 503. */
  graceSeconds: number;
  /** End sessions whose claims cannot be re-validated (no refresh token, no live access token) at the max age. */
  required: boolean;
}

/** What re-validating one session came to. */
type Outcome =
  | { kind: 'fresh'; record: SessionRecord }
  | { kind: 'ended'; reason: string }
  /** Nothing to re-validate with; the login's claims stand (best-effort mode). */
  | { kind: 'unverifiable' }
  | { kind: 'unavailable'; reason: string };

// Longer than a refresh takes (the provider calls time out at 5 s each), so a crashed instance's lock frees itself.
const LOCK_MS = 15_000;
// A token request waits this long for the provider; past it, the last good claims serve (within the grace).
const WAIT_MS = 2_000;
// After the provider could not answer, a session's requests use the last good claims this long before asking again.
const RETRY_AFTER_FAILURE_MS = 10_000;
const MAX_REMEMBERED_SESSIONS = 10_000;

/**
 * The token route's step between reading the session and minting: when a session's claims are
 * older than CLAIMS_MAX_AGE_SECONDS, ask the provider again (refresh token, else userinfo with the
 * access token while it lives) and carry the answer into this token. Only that request waits; fresh
 * sessions pay one subtraction. One re-validation per session at a time: concurrent requests of this
 * instance share it, other instances see the store's lock and serve the last good claims meanwhile.
 */
export function createClaimsRevalidation(options: {
  freshness: ClaimsFreshness;
  sessions: SessionRepository;
  metadata: MetadataSource;
  client: ClientCredentials;
  verifier: IdTokenVerifier;
  sealer: Sealer;
  logger: Logger;
  now: () => number;
  http?: ProviderHttpOptions;
}): RequestHandler {
  const maxAgeMs = options.freshness.maxAgeSeconds * 1000;
  const graceMs = options.freshness.graceSeconds * 1000;
  const inFlight = new Map<string, Promise<Outcome>>();
  // Sessions with nothing to re-validate with (best-effort) and sessions whose provider just failed:
  // their requests skip the provider instead of asking it on every token.
  const unverifiable = boundedCache<string, true>(MAX_REMEMBERED_SESSIONS);
  const failedUntil = boundedCache<string, number>(MAX_REMEMBERED_SESSIONS);

  const revalidate = async (sid: string, record: SessionRecord, user: SessionUser): Promise<Outcome> => {
    const lock = `claims:${sid}`;
    if (!(await options.sessions.claimOnce(lock, LOCK_MS))) return { kind: 'unavailable', reason: 'another instance is re-validating this session' };
    try {
      const answer = await askProvider(user);
      if (answer.kind === 'refused') {
        await destroy(options.sessions, sid);
        return { kind: 'ended', reason: answer.reason };
      }
      if (answer.kind !== 'ok') return answer.kind === 'unverifiable' ? answer : { kind: 'unavailable', reason: answer.reason };
      const checkedAt = options.now();
      const next: SessionRecord = { ...record, passport: { user: { ...user, ...toUserFields(answer.value.claims), ...answer.value.session, claimsCheckedAt: checkedAt } } };
      const replaced = await replace(options.sessions, sid, next);
      // Ended meanwhile (a logout on another instance): it stays ended.
      return replaced ? { kind: 'fresh', record: next } : { kind: 'ended', reason: 'the session ended during re-validation' };
    } finally {
      await options.sessions.release(lock);
    }
  };

  type Answer = GrantAnswer<{ claims: ProviderClaims; session: Partial<SessionUser> }> | { kind: 'unverifiable' };
  const askProvider = async (user: SessionUser): Promise<Answer> => {
    let metadata;
    try {
      metadata = await options.metadata.get();
    } catch (error) {
      return { kind: 'unavailable', reason: describeError(error) };
    }
    const refreshToken = options.sealer.open(user.grant?.refreshToken);
    if (refreshToken) {
      const refreshed = await refreshTokens(metadata, options.client, refreshToken, options.now(), options.http);
      if (refreshed.kind !== 'ok') return refreshed;
      const tokens = refreshed.value;
      try {
        const claims = typeof tokens.id_token === 'string'
          ? await claimsFromIdToken({ verifier: options.verifier, metadata, idToken: tokens.id_token, accessToken: tokens.access_token, http: options.http, expectedSub: user.sub })
          : await claimsThroughUserinfo(user, tokens.access_token!);
        if ('kind' in claims) return claims;
        // A provider that does not rotate refresh tokens sends none back: the old one stays good.
        const grant = sealGrant(options.sealer, tokens.access_token, tokens.refresh_token ?? refreshToken, tokens, options.now());
        return { kind: 'ok', value: { claims, session: { grant, ...(typeof tokens.id_token === 'string' ? { idToken: tokens.id_token } : {}) } } };
      } catch (error) {
        // The provider vouched for something we cannot accept (another sub, a bad signature): not a reason to sign out.
        options.logger.error('claims_revalidation_rejected', { sub: user.sub, error: describeError(error) });
        return { kind: 'unavailable', reason: describeError(error) };
      }
    }
    const accessToken = options.sealer.open(user.grant?.accessToken);
    const expiresAt = user.grant?.accessTokenExpiresAt;
    if (accessToken && (expiresAt === undefined || expiresAt > options.now())) {
      const claims = await claimsThroughUserinfo(user, accessToken);
      return 'kind' in claims ? claims : { kind: 'ok', value: { claims, session: {} } };
    }
    return { kind: 'unverifiable' };
  };

  const claimsThroughUserinfo = async (user: SessionUser, accessToken: string): Promise<ProviderClaims | GrantAnswer<never>> => {
    const metadata = await options.metadata.get();
    const answer = await readUserinfo(metadata, accessToken, options.http);
    if (answer.kind !== 'ok') return answer;
    return claimsFromUserinfo(user, answer.value);
  };

  return function revalidateClaims(req, _res, next) {
    const user = (req.session as SessionRecord | undefined)?.passport?.user;
    if (!user || typeof user.sub !== 'string') return next();
    const checkedAt = user.claimsCheckedAt ?? user.loginAt;
    const age = options.now() - checkedAt;
    if (age < maxAgeMs) return next();
    const sid = req.sessionID;
    if (!options.freshness.required && unverifiable.has(sid)) return next();
    const failed = failedUntil.get(sid);
    if (failed !== undefined && failed > options.now()) return serveLastGood(age, 'the provider failed moments ago', next);
    let flight = inFlight.get(sid);
    if (!flight) {
      flight = revalidate(sid, req.session as unknown as SessionRecord, user).catch((error: unknown) => ({ kind: 'unavailable' as const, reason: describeError(error) }));
      inFlight.set(sid, flight);
      void flight.then((outcome) => {
        inFlight.delete(sid);
        if (outcome.kind === 'unverifiable') unverifiable.set(sid, true);
        if (outcome.kind === 'unavailable') failedUntil.set(sid, options.now() + RETRY_AFTER_FAILURE_MS);
        else failedUntil.delete(sid);
        log(options.logger, user.sub, outcome);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'unavailable', reason: `no answer within ${WAIT_MS} ms` }), WAIT_MS);
    });
    Promise.race([flight, waited]).then((outcome) => {
      clearTimeout(timer);
      switch (outcome.kind) {
        case 'fresh':
          Object.assign(req, { session: structuredClone(outcome.record) });
          return next();
        case 'ended':
          Object.assign(req, { session: undefined });
          return next();
        case 'unverifiable':
          if (!options.freshness.required) return next();
          // CLAIMS_REVALIDATION=required: a session the provider cannot vouch for again ends at the max age.
          return destroy(options.sessions, sid).then(() => {
            Object.assign(req, { session: undefined });
            next();
          }, next);
        case 'unavailable':
          return serveLastGood(age, outcome.reason, next);
      }
    }, next);
  };

  // The provider is down or slow: the last good claims serve for the grace period, then 503.
  function serveLastGood(age: number, reason: string, next: (error?: unknown) => void): void {
    if (age < maxAgeMs + graceMs) return next();
    return next(new AppError('provider_unavailable', { detail: `claims re-validation: ${reason}` }));
  }
}

function toUserFields(claims: ProviderClaims): Partial<SessionUser> {
  return {
    name: claims.name,
    email: claims.email,
    claims: claims.claims,
    userinfoClaims: claims.userinfoClaims,
    ...(claims.providerSid ? { providerSid: claims.providerSid } : {}),
  };
}

function log(logger: Logger, sub: string, outcome: Outcome): void {
  if (outcome.kind === 'fresh') logger.info('claims_revalidated', { sub });
  else if (outcome.kind === 'ended') logger.info('session_ended_by_provider', { sub, reason: outcome.reason });
  else if (outcome.kind === 'unavailable') logger.warn('claims_revalidation_failed', { sub, reason: outcome.reason });
}

function destroy(sessions: SessionRepository, sid: string): Promise<void> {
  return new Promise((resolve, reject) => sessions.destroy(sid, (error) => (error ? reject(error) : resolve())));
}

function replace(sessions: SessionRepository, sid: string, record: SessionRecord): Promise<boolean> {
  return new Promise((resolve, reject) => sessions.replace(sid, structuredClone(record), (error, replaced) => (error ? reject(error) : resolve(replaced === true))));
}
