import { createRemoteJWKSet, customFetch } from 'jose/jwks/remote';
import { AppError } from '../errors/app-error.ts';
import { callProvider, DEFAULT_PROVIDER_HTTP, type ProviderHttpOptions } from './provider-http.ts';

export type ProviderKeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * The provider's signing keys for jose's jwtVerify, fetched through callProvider (timeout, size
 * cap). jose's remote key set refetches the JWKS when a token names an unknown `kid` (a rotated
 * key), at most once per cooldown; the set is rebuilt only if the provider moves its jwks_uri.
 */
export function createProviderKeySet(options: {
  http?: ProviderHttpOptions;
  /** Least time between two JWKS fetches triggered by unknown `kid`s: a forged kid cannot make us hammer the provider. */
  cooldownMs?: number;
}): (jwksUri: string) => ProviderKeySet {
  const http = options.http ?? DEFAULT_PROVIDER_HTTP;
  let current: { jwksUri: string; keySet: ProviderKeySet } | undefined;
  return (jwksUri) => {
    if (current?.jwksUri !== jwksUri) {
      const keySet = createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: http.timeoutMs,
        cooldownDuration: options.cooldownMs ?? 30_000,
        cacheMaxAge: 10 * 60_000,
        [customFetch]: async (url, init) => {
          // jose's signal carries its timeoutDuration: it ends in ERR_JWKS_TIMEOUT, which callers translate.
          const answer = await callProvider(url, { headers: init.headers, method: init.method, signal: init.signal }, 'jwks', http);
          if (answer.status >= 500) throw new AppError('provider_unavailable', { detail: `jwks: HTTP ${answer.status}` });
          return new Response(answer.text, { status: answer.status, headers: { 'content-type': 'application/json' } });
        },
      });
      current = { jwksUri, keySet };
    }
    return current.keySet;
  };
}
