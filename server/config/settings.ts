/**
 * Every setting the product reads, in one table: name, aliases, default, unit and a one-line doc.
 * `.envrc.example` and the README's table are written from the same facts; keep them in step.
 */
export interface SettingSpec {
  name: string;
  aliases?: string[];
  /** Shown in errors and docs: what a valid value looks like. */
  expected: string;
  /** Default outside production; `undefined` means none. A function sees the other raw values. */
  defaultValue?: string | ((raw: RawSettings) => string);
  /** Must be set in production (dev mode may fill it with a generated value). */
  requiredInProduction?: boolean;
  doc: string;
}

export type RawSettings = Record<string, string | undefined>;

export const SETTINGS: readonly SettingSpec[] = [
  { name: 'NODE_ENV', expected: '"production", "development" or "test"', defaultValue: 'development',
    doc: '"production" turns every dev default off.' },
  { name: 'HOST', expected: 'a host name or IP address', defaultValue: '127.0.0.1',
    doc: 'Interface to listen on (0.0.0.0 in a container).' },
  { name: 'PORT', expected: 'a TCP port, 0..65535', defaultValue: '3000', doc: 'Port to listen on.' },
  { name: 'LOG_LEVEL', expected: '"info", "warn", "error" or "silent"', defaultValue: 'info',
    doc: 'The least severe log lines written: info is one line per request, login, token mint and logout; warn keeps outages, refusals and misconfigurations.' },
  { name: 'PUBLIC_URL', expected: 'an absolute http(s) URL without path, query or fragment',
    defaultValue: (raw) => `http://localhost:${raw.PORT ?? '3000'}`, requiredInProduction: true,
    doc: 'External base URL of this service; the OIDC redirect_uri and cookie Secure flag derive from it.' },
  { name: 'OIDC_ISSUER', aliases: ['AUTH0_DOMAIN'], expected: 'an https URL (http only for localhost)',
    requiredInProduction: true, doc: 'The OpenID provider issuer; discovery is read from it. AUTH0_DOMAIN=x means https://x/.' },
  { name: 'OIDC_CLIENT_ID', aliases: ['AUTH0_CLIENT_ID'], expected: 'a non-empty string', requiredInProduction: true,
    doc: 'The client id registered at the provider.' },
  { name: 'OIDC_CLIENT_SECRET', aliases: ['AUTH0_CLIENT_SECRET'], expected: 'a non-empty string',
    requiredInProduction: true, doc: 'The client secret registered at the provider; not used with private_key_jwt.' },
  { name: 'OIDC_TOKEN_ENDPOINT_AUTH_METHOD', expected: '"client_secret_basic", "client_secret_post" or "private_key_jwt"',
    doc: 'How this service authenticates at the token endpoint; unset means client_secret_basic, or client_secret_post if the provider offers only that. Checked against the provider\'s token_endpoint_auth_methods_supported.' },
  { name: 'OIDC_CLIENT_KEY_FILE', expected: 'a PEM or JWK private key file: RSA of 2048 bits or more, or EC P-256/P-384/P-521',
    doc: 'private_key_jwt only: signs the client assertion (RFC 7523); kid from the JWK, else its RFC 7638 thumbprint.' },
  { name: 'OIDC_SCOPE', expected: 'space-separated scopes including "openid"', defaultValue: 'openid profile email',
    doc: 'Scopes requested at login.' },
  { name: 'SESSION_SECRET', expected: 'one or more comma-separated secrets of at least 32 characters',
    requiredInProduction: true, doc: 'Signs the session cookie; the first signs, all verify (rotation).' },
  { name: 'SESSION_DB', expected: 'a file path', defaultValue: (raw) => `${raw.DATA_DIR ?? './data'}/sessions.db`,
    doc: 'SQLite file holding the sessions.' },
  { name: 'SESSION_STORE', expected: '"sqlite" or "redis"', defaultValue: 'sqlite',
    doc: 'Where sessions and rate-limit counters live: the SQLite file (one instance) or Redis (several instances).' },
  { name: 'REDIS_URL', expected: 'redis://[user:password@]host[:port][/db] or rediss://… (TLS)',
    doc: 'The Redis server when SESSION_STORE=redis (redis://[user:password@]host[:port][/db], rediss:// for TLS); never logged.' },
  { name: 'REDIS_KEY_PREFIX', expected: '1..100 printable ASCII characters without spaces', defaultValue: 'hivekit-bff:',
    doc: 'Prefix of every Redis key this deployment writes, so several deployments can share one Redis.' },
  { name: 'SESSION_IDLE_TIMEOUT_SECONDS', expected: 'an integer number of seconds, 300..2592000', defaultValue: '28800',
    doc: 'A session unused this long ends (8 h).' },
  { name: 'SESSION_ABSOLUTE_TIMEOUT_SECONDS', expected: 'an integer number of seconds, 300..31536000', defaultValue: '604800',
    doc: 'A session ends this long after login however active (7 days).' },
  { name: 'DATA_DIR', expected: 'a folder path', defaultValue: './data',
    doc: 'Folder for the session database and, in dev mode, generated secrets.' },
  { name: 'STATIC_DIR', expected: 'a folder path',
    doc: 'Folder served at / (your own page, same origin as the token route); unset serves the demo page in public/.' },
  { name: 'HIVEKIT_TENANT_ID', expected: 'a non-empty string', requiredInProduction: true,
    doc: 'Your Hivekit tenant id (the token\'s tnd claim).' },
  { name: 'HIVEKIT_SECRET', expected: 'strict base64 decoding to at least 32 bytes', requiredInProduction: true,
    doc: 'The Hivekit secret that signs tokens (HS256).' },
  { name: 'HIVEKIT_SECRET_ID', expected: 'a non-empty string', requiredInProduction: true,
    doc: 'The id of that secret in Hivekit (the token header\'s kid).' },
  { name: 'HIVEKIT_ISSUER', expected: 'a non-empty string', defaultValue: 'platform.hivekit.io',
    doc: 'The token\'s iss claim.' },
  { name: 'TOKEN_TTL_SECONDS', expected: 'an integer number of seconds, 60..86400', defaultValue: '900',
    doc: 'Lifetime of a minted token.' },
  { name: 'PERMISSIONS_FILE', expected: 'a path to a JSON policy file',
    doc: 'The permissions policy (see docs/POLICY.md); dev mode uses policy.example.json.' },
  { name: 'TRUST_PROXY', expected: '"false", "true", a hop count or a comma-separated list of addresses/subnets',
    defaultValue: 'false', doc: 'Express trust proxy: who may set X-Forwarded-For (rate limits key on the client address).' },
  { name: 'CORS_ALLOWED_ORIGINS', expected: 'comma-separated origins like https://app.example.com (https unless localhost)',
    defaultValue: '', doc: 'Origins allowed to fetch tokens cross-origin with credentials; empty means no CORS at all.' },
  { name: 'RATE_LIMIT_LOGIN_PER_MINUTE', expected: 'an integer, 1..100000', defaultValue: '30',
    doc: 'Login starts plus callbacks allowed per client address per minute.' },
  { name: 'RATE_LIMIT_TOKEN_PER_MINUTE', expected: 'an integer, 1..1000000', defaultValue: '120',
    doc: 'Token requests allowed per session (or per address without one) per minute.' },
  { name: 'TOKEN_EXCHANGE_AUDIENCE', expected: '1..1024 printable ASCII characters without spaces (the aud of access tokens for this service)',
    doc: 'Turns on POST /token (RFC 8693 token exchange): the exact aud a provider-issued access token must carry to be exchanged; unset means the endpoint is off (404).' },
  { name: 'TOKEN_EXCHANGE_INTROSPECTION', expected: '"true" or "false"', defaultValue: 'false',
    doc: 'true: opaque (non-JWT) access tokens are checked at the provider\'s introspection endpoint (RFC 7662) with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET; false: only JWT access tokens are exchanged.' },
  { name: 'RATE_LIMIT_EXCHANGE_PER_MINUTE', expected: 'an integer, 1..1000000', defaultValue: '60',
    doc: 'Token exchanges allowed per subject (user or machine client) per minute, and refused subject tokens per client address.' },
  { name: 'HTTP_HEADERS_TIMEOUT_SECONDS', expected: 'an integer number of seconds, 1..300', defaultValue: '10',
    doc: 'A client that has not sent all request headers this long after it began gets 408 and is disconnected.' },
  { name: 'HTTP_REQUEST_TIMEOUT_SECONDS', expected: 'an integer number of seconds, 1..3600, not below HTTP_HEADERS_TIMEOUT_SECONDS',
    defaultValue: '30', doc: 'A whole request (headers and body) must arrive within this long, or 408 and disconnect.' },
  { name: 'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', expected: 'an integer number of seconds, 1..600', defaultValue: '5',
    doc: 'An idle keep-alive connection is closed after this long; keep it above the idle timeout of a proxy that reuses connections to this service.' },
  { name: 'HTTP_MAX_CONNECTIONS', expected: 'an integer, 1..1000000', defaultValue: '10000',
    doc: 'Open client connections at most; past it new connections are closed at once.' },
  { name: 'METRICS_PORT', expected: 'a TCP port, 1..65535, other than PORT',
    doc: 'Serves Prometheus metrics at GET /metrics on a listener of its own; unset means no metrics listener.' },
  { name: 'METRICS_HOST', expected: 'a host name or IP address', defaultValue: (raw) => raw.HOST ?? '127.0.0.1',
    doc: 'Interface of the metrics listener.' },
  { name: 'SHUTDOWN_DRAIN_SECONDS', expected: 'an integer number of seconds, 0..300', defaultValue: '5',
    doc: 'On SIGTERM /readyz answers 503 at once and the listener keeps serving this long, so the load balancer stops sending requests first.' },
  { name: 'SHUTDOWN_GRACE_SECONDS', expected: 'an integer number of seconds, 1..300', defaultValue: '10',
    doc: 'After the drain, in-flight requests get this long to finish before the process exits anyway (logged as shutdown_forced).' },
  { name: 'DEV_OIDC_PORT', expected: 'a TCP port, 1..65535', defaultValue: '3001',
    doc: 'Dev mode only: port of the embedded OpenID provider.' },
];
