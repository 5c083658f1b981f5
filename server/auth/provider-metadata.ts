import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logging/logger.ts';
import { fetchProviderJson, type ProviderHttpOptions } from './provider-http.ts';

export interface ProviderMetadata {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  userinfoEndpoint: string | undefined;
  endSessionEndpoint: string | undefined;
  /** RFC 8414 §2 introspection_endpoint (RFC 7662), for opaque subject tokens at POST /token. */
  introspectionEndpoint: string | undefined;
  idTokenSigningAlgs: string[];
  tokenEndpointAuthMethods: string[];
  /** For private_key_jwt; undefined when the provider does not say (Discovery §3 gives no default). */
  tokenEndpointAuthSigningAlgs: string[] | undefined;
  /** Discovery's scopes_supported (RECOMMENDED, so possibly absent): whether offline_access may be asked for. */
  scopesSupported: string[] | undefined;
}

export interface MetadataSource {
  /** Cached metadata, loading it when missing or stale; concurrent callers share one request. */
  get(): Promise<ProviderMetadata>;
  /** Loaded at least once: what /readyz reports (stale metadata is refreshed on use, and still serves if that fails). */
  isLoaded(): boolean;
}

// Asymmetric algorithms only: `none` and HS* (keyed with the client secret) are never accepted.
const ALLOWED_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function createMetadataSource(options: {
  issuer: string;
  logger: Logger;
  http?: ProviderHttpOptions;
  now?: () => number;
  maxAgeMs?: number;
  retryAfterFailureMs?: number;
}): MetadataSource {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 60 * 60 * 1000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 5000;
  let cached: { metadata: ProviderMetadata; loadedAt: number } | undefined;
  let inFlight: Promise<ProviderMetadata> | undefined;
  let lastFailure: { error: AppError; at: number } | undefined;

  const load = async (): Promise<ProviderMetadata> => {
    // OIDC Discovery §4: the issuer with any trailing slash removed, then the well-known path.
    const url = `${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const document = await fetchProviderJson(url, { headers: { accept: 'application/json' } }, 'discovery', options.http);
    return parseMetadata(document, options.issuer);
  };

  const isFresh = () => cached !== undefined && now() - cached.loadedAt < maxAgeMs;

  return {
    isLoaded: () => cached !== undefined,
    get() {
      if (cached && isFresh()) return Promise.resolve(cached.metadata);
      // After a failure, answer fast from the failure rather than queueing every login behind a dead provider.
      if (lastFailure && now() - lastFailure.at < retryAfterFailureMs) {
        return cached ? Promise.resolve(cached.metadata) : Promise.reject(lastFailure.error);
      }
      inFlight ??= load().then(
        (metadata) => {
          if (!cached) options.logger.info('provider_metadata_loaded', { issuer: metadata.issuer });
          cached = { metadata, loadedAt: now() };
          lastFailure = undefined;
          return metadata;
        },
        (error: unknown) => {
          const appError = error instanceof AppError ? error : new AppError('provider_error', { cause: error });
          lastFailure = { error: appError, at: now() };
          options.logger.warn('provider_metadata_failed', { issuer: options.issuer, code: appError.code, detail: appError.detail });
          // Stale metadata beats none: endpoints rarely move, and the JWKS is refetched on its own.
          if (cached) return cached.metadata;
          throw appError;
        },
      ).finally(() => { inFlight = undefined; });
      return inFlight;
    },
  };
}

export function parseMetadata(document: Record<string, unknown>, expectedIssuer: string): ProviderMetadata {
  // OIDC Discovery §4.3: the issuer in the document must be identical to the one we asked.
  if (document.issuer !== expectedIssuer) {
    throw new AppError('provider_error', {
      detail: `discovery: issuer ${JSON.stringify(document.issuer)} does not match OIDC_ISSUER ${JSON.stringify(expectedIssuer)}`,
    });
  }
  const localIssuer = isLocalUrl(expectedIssuer);
  const url = (name: string, required: boolean): string | undefined => {
    const value = document[name];
    if (value === undefined && !required) return undefined;
    const parsed = typeof value === 'string' ? parseUrl(value) : undefined;
    // The code and the client secret travel to these endpoints: https only, unless the issuer itself is local.
    if (!parsed || !(parsed.protocol === 'https:' || (parsed.protocol === 'http:' && localIssuer))) {
      throw new AppError('provider_error', { detail: `discovery: ${name} is missing or not an https URL` });
    }
    // The serialised URL, never the raw string: it ends up in a Location header, where raw Unicode throws.
    return parsed.href;
  };
  const optionalStrings = (name: string): string[] | undefined => {
    const value = document[name];
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  };
  const strings = (name: string, fallback: string[]): string[] => optionalStrings(name) ?? fallback;
  const algs = strings('id_token_signing_alg_values_supported', ['RS256']).filter((alg) => ALLOWED_ALGS.includes(alg));
  if (algs.length === 0) {
    throw new AppError('provider_error', { detail: 'discovery: the provider offers no asymmetric ID token signing algorithm' });
  }
  return {
    issuer: expectedIssuer,
    authorizationEndpoint: url('authorization_endpoint', true)!,
    tokenEndpoint: url('token_endpoint', true)!,
    jwksUri: url('jwks_uri', true)!,
    userinfoEndpoint: url('userinfo_endpoint', false),
    endSessionEndpoint: url('end_session_endpoint', false),
    // Only token exchange uses it: an unusable one must not stop logins, it is simply not offered.
    introspectionEndpoint: optionalUrl(() => url('introspection_endpoint', false)),
    idTokenSigningAlgs: algs,
    // OIDC Discovery §3: when absent, the default is client_secret_basic.
    tokenEndpointAuthMethods: strings('token_endpoint_auth_methods_supported', ['client_secret_basic']),
    tokenEndpointAuthSigningAlgs: optionalStrings('token_endpoint_auth_signing_alg_values_supported'),
    scopesSupported: optionalStrings('scopes_supported'),
  };
}

function optionalUrl(read: () => string | undefined): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function isLocalUrl(value: string): boolean {
  const hostname = parseUrl(value)?.hostname;
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}
