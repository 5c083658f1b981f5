import type { JWTPayload } from 'jose';
import { jwtVerify } from 'jose/jwt/verify';
import { AppError } from '../errors/app-error.ts';
import { createProviderKeySet } from './provider-key-set.ts';
import type { ProviderHttpOptions } from './provider-http.ts';
import type { ProviderMetadata } from './provider-metadata.ts';

// OIDC Core §3.1.3.7 allows "a few minutes" of skew; 30 s keeps a replayed old token out. It applies
// to iat (both ways, through maxTokenAge) and nbf; passport-openidconnect has already refused an
// expired `exp` with no leeway, which only matters if our clock runs ahead of the provider's by the
// ID token's whole lifetime.
export const ID_TOKEN_CLOCK_TOLERANCE_SECONDS = 30;
// OIDC Core §3.1.3.7 item 10: iat "can be used to reject tokens that were issued too far away from
// the current time". In the code flow the token endpoint issues the ID token in the very request
// we are answering, so anything older than this (plus the tolerance) was kept and replayed.
export const ID_TOKEN_MAX_AGE_SECONDS = 300;

export interface IdTokenVerifier {
  /** Signature (provider's JWKS, allowed algorithms), exact issuer and audience, iat and expiry with leeway. */
  verify(idToken: string, metadata: ProviderMetadata): Promise<JWTPayload>;
}

/** The check passport-openidconnect 0.1.2 leaves out, against the provider's key set (provider-key-set.ts). */
export function createIdTokenVerifier(options: {
  clientId: string;
  http?: ProviderHttpOptions;
  currentDate?: () => Date;
  /** Least time between two JWKS fetches triggered by unknown `kid`s: a forged kid cannot make us hammer the provider. */
  jwksCooldownMs?: number;
}): IdTokenVerifier {
  const keySetFor = createProviderKeySet({ http: options.http, cooldownMs: options.jwksCooldownMs });

  return {
    async verify(idToken, metadata) {
      try {
        const { payload } = await jwtVerify(idToken, keySetFor(metadata.jwksUri), {
          issuer: metadata.issuer,
          audience: options.clientId,
          algorithms: metadata.idTokenSigningAlgs,
          clockTolerance: ID_TOKEN_CLOCK_TOLERANCE_SECONDS,
          maxTokenAge: ID_TOKEN_MAX_AGE_SECONDS,
          requiredClaims: ['sub', 'iat', 'exp'],
          currentDate: options.currentDate?.(),
        });
        return payload;
      } catch (error) {
        throw translateJoseError(error);
      }
    },
  };
}

function translateJoseError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'ERR_JWKS_TIMEOUT') return new AppError('provider_unavailable', { detail: 'jwks: no answer in time', cause: error });
  const reason = typeof code === 'string' ? code : 'invalid';
  const claim = (error as { claim?: unknown }).claim;
  return new AppError('provider_error', {
    detail: `id token rejected: ${reason}${typeof claim === 'string' ? ` (${claim})` : ''}`,
    cause: error,
  });
}
