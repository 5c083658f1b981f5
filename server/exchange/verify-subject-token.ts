import * as joseErrors from 'jose/errors';
import { jwtVerify } from 'jose/jwt/verify';
import type { ClientCredentials } from '../auth/client-auth.ts';
import { createProviderKeySet } from '../auth/provider-key-set.ts';
import type { ProviderHttpOptions } from '../auth/provider-http.ts';
import type { MetadataSource } from '../auth/provider-metadata.ts';
import { AppError } from '../errors/app-error.ts';
import { introspectToken } from './introspect-token.ts';
import { INVALID_SUBJECT_TOKEN, OAuthError } from './oauth-error.ts';
import { subjectOf, type Subject } from './subject-claims.ts';

// Asymmetric only: `none` and HS* (a key the provider shares with clients) never verify an access token.
export const ACCESS_TOKEN_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
// The ID token's leeway (auth/id-token-verifier.ts): enough for clock skew, too little to matter for replay.
export const ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS = 30;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface SubjectTokenVerifierOptions {
  metadata: MetadataSource;
  /** TOKEN_EXCHANGE_AUDIENCE: the `aud` the provider puts in access tokens meant for this service. */
  audience: string;
  /** Opaque tokens are introspected (RFC 7662) with these client credentials; undefined: refused. */
  introspection: ClientCredentials | undefined;
  now: () => number;
  http?: ProviderHttpOptions;
}

/**
 * Verifies the subject token of a token exchange. A JWT (RFC 9068): the provider's JWKS, an
 * asymmetric algorithm, `typ: at+jwt` (so an ID token, typ JWT, is no access token), the exact
 * issuer and the configured audience, exp/nbf/iat with 30 s leeway. Anything else is introspected
 * when configured. A token bound to a key (`cnf`: DPoP, mTLS) is refused: we cannot check its proof.
 * Every refusal is invalid_grant with one description; the reason goes to the log.
 */
export function createSubjectTokenVerifier(options: SubjectTokenVerifierOptions): (token: string) => Promise<Subject> {
  const keySetFor = createProviderKeySet({ http: options.http });

  const verifyJwt = async (token: string): Promise<Record<string, unknown>> => {
    const metadata = await options.metadata.get();
    try {
      const { payload } = await jwtVerify(token, keySetFor(metadata.jwksUri), {
        issuer: metadata.issuer,
        audience: options.audience,
        algorithms: ACCESS_TOKEN_ALGS,
        typ: 'at+jwt',
        clockTolerance: ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'iat', 'exp'],
        currentDate: new Date(options.now()),
      });
      return payload;
    } catch (error) {
      throw translateJoseError(error);
    }
  };

  return async (token) => {
    let claims: Record<string, unknown>;
    if (JWS_COMPACT.test(token)) {
      claims = await verifyJwt(token);
    } else if (options.introspection) {
      claims = await introspectToken(token, {
        metadata: await options.metadata.get(), client: options.introspection, audience: options.audience,
        nowSeconds: Math.floor(options.now() / 1000), leewaySeconds: ACCESS_TOKEN_CLOCK_TOLERANCE_SECONDS, http: options.http,
      });
    } else {
      throw new OAuthError('invalid_grant', INVALID_SUBJECT_TOKEN, 'not a JWT, and TOKEN_EXCHANGE_INTROSPECTION is off');
    }
    if (claims.cnf !== undefined) throw new OAuthError('invalid_grant', INVALID_SUBJECT_TOKEN, 'sender-constrained token (cnf)');
    return subjectOf(claims);
  };
}

function translateJoseError(error: unknown): Error {
  if (error instanceof AppError) return error;
  if (error instanceof joseErrors.JWKSTimeout) return new AppError('provider_unavailable', { detail: 'jwks: no answer in time', cause: error });
  // A JWKS that is not a key set is the provider's fault, not the caller's.
  if (error instanceof joseErrors.JWKSInvalid) return new AppError('provider_error', { detail: 'jwks: not a JSON Web Key Set', cause: error });
  const code = (error as { code?: unknown } | undefined)?.code;
  const claim = (error as { claim?: unknown }).claim;
  const reason = `${typeof code === 'string' ? code : 'invalid'}${typeof claim === 'string' ? ` (${claim})` : ''}`;
  return new OAuthError('invalid_grant', INVALID_SUBJECT_TOKEN, `subject token rejected: ${reason}`);
}
