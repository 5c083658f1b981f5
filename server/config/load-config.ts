import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { TOKEN_ENDPOINT_AUTH_METHODS, type TokenEndpointAuthMethod } from '../auth/client-auth.ts';
import { parseClientKey, type ClientKey } from '../auth/client-key.ts';
import { checkSecretReuse, checkSecretStrength, decodeHivekitSecret } from './check-secrets.ts';
import { readHivekitSecretFile } from './hivekit-secret-file.ts';
import { HTTPS_WITHOUT_TRUSTED_PROXY } from './config-warnings.ts';
import { checkSessionStore, type SessionStoreSettings } from './check-session-store.ts';
import { LOG_LEVELS, type LogLevel } from '../logging/logger.ts';
import { SETTINGS, type RawSettings, type SettingSpec } from './settings.ts';

export interface Config {
  readonly isProduction: boolean;
  /** True when the embedded OpenID provider and generated secrets stand in for real ones. */
  readonly devMode: boolean;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly publicUrl: string;
  readonly dataDir: string;
  readonly trustProxy: boolean | number | string;
  readonly devOidcPort: number;
  readonly corsAllowedOrigins: readonly string[];
  readonly rateLimits: { readonly loginPerMinute: number; readonly tokenPerMinute: number };
  /** POST /token (RFC 8693); undefined while TOKEN_EXCHANGE_AUDIENCE is unset. */
  readonly tokenExchange: { readonly audience: string; readonly introspection: boolean; readonly perMinute: number } | undefined;
  readonly http: {
    readonly headersTimeoutSeconds: number;
    readonly requestTimeoutSeconds: number;
    readonly keepAliveTimeoutSeconds: number;
    readonly maxConnections: number;
  };
  readonly oidc: {
    readonly issuer: string;
    readonly clientId: string;
    readonly clientSecret: string;
    /** Unset: chosen from what the provider offers (auth/client-auth.ts). */
    readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod | undefined;
    readonly clientKey: ClientKey | undefined;
    readonly scope: string;
    readonly requestOfflineAccess: boolean;
    readonly redirectUri: string;
    readonly postLogoutRedirectUri: string;
  };
  readonly session: {
    readonly secrets: readonly string[];
    readonly dbPath: string;
    /** Where sessions and shared rate limits live: the SQLite file, or Redis for several instances. */
    readonly store: SessionStoreSettings;
    readonly idleTimeoutSeconds: number;
    readonly absoluteTimeoutSeconds: number;
    readonly cookieSecure: boolean;
  };
  readonly hivekit: {
    readonly tenantId: string;
    /** At start: from HIVEKIT_SECRET and HIVEKIT_SECRET_ID, or read from the secret file. */
    readonly secret: Buffer;
    readonly secretId: string;
    /** HIVEKIT_SECRET_FILE: re-read on change and SIGHUP (tokens/create-key-holder.ts). */
    readonly secretFile: string | undefined;
    readonly issuer: string;
    readonly tokenTtlSeconds: number;
  };
  readonly permissionsFile: string | undefined;
  /** How a session's claims follow the provider (auth/revalidate-claims.ts). */
  readonly claims: { readonly maxAgeSeconds: number; readonly graceSeconds: number; readonly required: boolean };
  /** Served at `/`; undefined serves the demo page in public/. */
  readonly staticDir: string | undefined;
  /** The Prometheus listener (METRICS_PORT); undefined when it is off. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
  readonly shutdown: { readonly drainSeconds: number; readonly graceSeconds: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`
      + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * Dev mode: no provider configured and NODE_ENV unset, "development" or "test". Anything else
 * (a typo, "production " with a stray space or CR) is not dev mode: the safe side.
 */
export function isDevMode(env: RawSettings): boolean {
  const nodeEnv = (env.NODE_ENV ?? '').trim();
  return ['', 'development', 'test'].includes(nodeEnv) && !nonEmpty(env.OIDC_ISSUER) && !nonEmpty(env.AUTH0_DOMAIN);
}

function isProductionEnv(env: RawSettings): boolean {
  return (env.NODE_ENV ?? '').trim() === 'production';
}

const MIN_SESSION_SECRET_CHARS = 32;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/**
 * Reads and checks every setting at once. `devDefaults` fill gaps only outside production;
 * the result is frozen and nothing below main.ts reads the environment.
 */
export function loadConfig(env: RawSettings, devDefaults: RawSettings = {}): Config {
  const problems: string[] = [];
  const isProduction = isProductionEnv(env);
  const devMode = isDevMode(env);
  const raw = resolveRaw(env, isProduction ? {} : devDefaults, isProduction, problems);

  const text = (name: string): string => {
    const spec = specOf(name);
    const value = raw[name];
    if (value !== undefined) return value;
    if (isProduction && spec.requiredInProduction) problems.push(`${name}: missing; expected ${spec.expected} (required in production)`);
    else if (spec.requiredInProduction) problems.push(`${name}: missing; expected ${spec.expected}`);
    return '';
  };
  const integer = (name: string, min: number, max: number): number => {
    const value = text(name);
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      problems.push(`${name}: got ${JSON.stringify(value)}; expected ${specOf(name).expected}`);
      return min;
    }
    return Number(value);
  };

  const oneOf = (name: string, allowed: readonly string[]): string => {
    const value = text(name);
    if (!allowed.includes(value)) problems.push(`${name}: got ${JSON.stringify(value)}; expected ${specOf(name).expected}`);
    return value;
  };

  if (!['production', 'development', 'test'].includes(text('NODE_ENV'))) {
    problems.push(`NODE_ENV: got ${JSON.stringify(raw.NODE_ENV)}; expected ${specOf('NODE_ENV').expected}`);
  }
  const port = integer('PORT', 0, 65535);
  const logLevel = text('LOG_LEVEL') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: got ${JSON.stringify(raw.LOG_LEVEL)}; expected ${specOf('LOG_LEVEL').expected}`);
  const publicUrl = checkPublicUrl(text('PUBLIC_URL'), isProduction, problems);
  const issuer = checkIssuer(text('OIDC_ISSUER'), problems);
  const scope = text('OIDC_SCOPE');
  if (scope && !scope.split(/\s+/).includes('openid')) problems.push(`OIDC_SCOPE: got ${JSON.stringify(scope)}; expected ${specOf('OIDC_SCOPE').expected}`);
  const sessionSecrets = checkSessionSecrets(text('SESSION_SECRET'), problems);
  const secretFile = raw.HIVEKIT_SECRET_FILE;
  // Dev mode's generated secret is a default, not a choice: only the environment's values clash with the file.
  if (secretFile !== undefined && (nonEmpty(env.HIVEKIT_SECRET) || nonEmpty(env.HIVEKIT_SECRET_ID))) {
    problems.push('HIVEKIT_SECRET_FILE: set together with HIVEKIT_SECRET or HIVEKIT_SECRET_ID; set either the file or both variables');
  }
  const hivekitSecret = secretFile === undefined ? decodeHivekitSecret(text('HIVEKIT_SECRET'), 'HIVEKIT_SECRET', problems) : Buffer.alloc(0);
  const idle = integer('SESSION_IDLE_TIMEOUT_SECONDS', 300, 2_592_000);
  const absolute = integer('SESSION_ABSOLUTE_TIMEOUT_SECONDS', 300, 31_536_000);
  const host = text('HOST');
  const authMethod = checkAuthMethod(raw.OIDC_TOKEN_ENDPOINT_AUTH_METHOD, problems);
  const clientKey = authMethod === 'invalid' ? undefined : readClientKey(raw.OIDC_CLIENT_KEY_FILE, authMethod, problems);
  // These end up in token headers, claims and Basic auth: printable ASCII only.
  for (const name of ['HIVEKIT_TENANT_ID', 'HIVEKIT_SECRET_ID', 'OIDC_CLIENT_ID']) {
    if (/[^\x20-\x7e]/.test(raw[name] ?? '')) problems.push(`${name}: contains control or non-ASCII characters`);
  }
  if (devMode && (nonEmpty(env.HIVEKIT_SECRET) || nonEmpty(env.HIVEKIT_SECRET_FILE)) && !LOOPBACK_HOSTS.has(host)) {
    problems.push(`HIVEKIT_SECRET: set while in dev mode on HOST=${host}; the embedded provider's published demo users would get tokens signed with it. Set OIDC_ISSUER for a real provider, or keep HOST on 127.0.0.1`);
  }
  if (absolute < idle) problems.push('SESSION_ABSOLUTE_TIMEOUT_SECONDS: must not be shorter than SESSION_IDLE_TIMEOUT_SECONDS');
  const headersTimeout = integer('HTTP_HEADERS_TIMEOUT_SECONDS', 1, 300);
  const requestTimeout = integer('HTTP_REQUEST_TIMEOUT_SECONDS', 1, 3600);
  // Node's http.createServer throws when headersTimeout exceeds requestTimeout.
  if (requestTimeout < headersTimeout) problems.push('HTTP_REQUEST_TIMEOUT_SECONDS: must not be shorter than HTTP_HEADERS_TIMEOUT_SECONDS');
  const trustProxy = parseTrustProxy(text('TRUST_PROXY'), problems);
  if (isProduction) {
    const secrets = { sessionSecrets, clientSecret: raw.OIDC_CLIENT_SECRET ?? '', hivekitSecretText: raw.HIVEKIT_SECRET ?? '', hivekitSecret };
    checkSecretStrength(secrets, problems);
    checkSecretReuse(secrets, problems);
    if (raw.TRUST_PROXY === 'false' && publicUrl.startsWith('https:')) problems.push(`TRUST_PROXY: ${HTTPS_WITHOUT_TRUSTED_PROXY}`);
  }
  const fromFile = secretFile === undefined ? undefined
    : readHivekitSecretFile(secretFile, { isProduction, otherSecrets: { sessionSecrets, clientSecret: raw.OIDC_CLIENT_SECRET ?? '' } });
  if (fromFile && !fromFile.ok) problems.push(...fromFile.problems);

  const config: Config = {
    isProduction,
    devMode,
    host,
    port,
    logLevel,
    publicUrl,
    dataDir: text('DATA_DIR'),
    trustProxy,
    devOidcPort: integer('DEV_OIDC_PORT', 1, 65535),
    corsAllowedOrigins: checkOrigins(text('CORS_ALLOWED_ORIGINS'), problems),
    rateLimits: {
      loginPerMinute: integer('RATE_LIMIT_LOGIN_PER_MINUTE', 1, 100_000),
      tokenPerMinute: integer('RATE_LIMIT_TOKEN_PER_MINUTE', 1, 1_000_000),
    },
    tokenExchange: checkTokenExchange(raw, integer('RATE_LIMIT_EXCHANGE_PER_MINUTE', 1, 1_000_000), problems),
    http: {
      headersTimeoutSeconds: headersTimeout,
      requestTimeoutSeconds: requestTimeout,
      keepAliveTimeoutSeconds: integer('HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', 1, 600),
      maxConnections: integer('HTTP_MAX_CONNECTIONS', 1, 1_000_000),
    },
    oidc: {
      issuer,
      clientId: text('OIDC_CLIENT_ID'),
      // private_key_jwt has no secret to require.
      clientSecret: authMethod === 'private_key_jwt' ? raw.OIDC_CLIENT_SECRET ?? '' : text('OIDC_CLIENT_SECRET'),
      tokenEndpointAuthMethod: authMethod === 'invalid' ? undefined : authMethod,
      clientKey,
      scope,
      requestOfflineAccess: oneOf('OIDC_REQUEST_OFFLINE_ACCESS', ['true', 'false']) === 'true',
      redirectUri: `${publicUrl}/oauth2/redirect`,
      postLogoutRedirectUri: `${publicUrl}/`,
    },
    session: {
      secrets: sessionSecrets,
      dbPath: text('SESSION_DB'),
      store: checkSessionStore(raw, problems),
      idleTimeoutSeconds: idle,
      absoluteTimeoutSeconds: absolute,
      cookieSecure: publicUrl.startsWith('https:'),
    },
    hivekit: {
      tenantId: text('HIVEKIT_TENANT_ID'),
      secret: fromFile?.ok ? fromFile.key.secret : hivekitSecret,
      secretId: fromFile?.ok ? fromFile.key.kid : secretFile === undefined ? text('HIVEKIT_SECRET_ID') : '',
      secretFile,
      issuer: text('HIVEKIT_ISSUER'),
      tokenTtlSeconds: integer('TOKEN_TTL_SECONDS', 60, 86_400),
    },
    permissionsFile: raw.PERMISSIONS_FILE,
    claims: {
      maxAgeSeconds: integer('CLAIMS_MAX_AGE_SECONDS', 30, 86_400),
      graceSeconds: integer('CLAIMS_GRACE_SECONDS', 0, 86_400),
      required: oneOf('CLAIMS_REVALIDATION', ['best-effort', 'required']) === 'required',
    },
    staticDir: raw.STATIC_DIR || undefined,
    metrics: raw.METRICS_PORT === undefined ? undefined : { host: text('METRICS_HOST'), port: checkMetricsPort(integer('METRICS_PORT', 1, 65535), port, problems) },
    shutdown: { drainSeconds: integer('SHUTDOWN_DRAIN_SECONDS', 0, 300), graceSeconds: integer('SHUTDOWN_GRACE_SECONDS', 1, 300) },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function resolveRaw(env: RawSettings, devDefaults: RawSettings, isProduction: boolean, problems: string[]): RawSettings {
  const raw: RawSettings = {};
  for (const spec of SETTINGS) {
    const given = [spec.name, ...(spec.aliases ?? [])].filter((n) => nonEmpty(env[n]));
    const values = new Set(given.map((n) => normalizeAlias(n, env[n]!.trim())));
    if (values.size > 1) problems.push(`${given.join(' and ')}: set to different values; set only ${spec.name}`);
    if (given.length > 0) raw[spec.name] = normalizeAlias(given[0]!, env[given[0]!]!.trim());
  }
  for (const spec of SETTINGS) {
    if (raw[spec.name] !== undefined) continue;
    // Production takes no default for what must be chosen deliberately (PUBLIC_URL, secrets, provider).
    if (isProduction && spec.requiredInProduction) continue;
    if (nonEmpty(devDefaults[spec.name])) raw[spec.name] = devDefaults[spec.name];
    else if (typeof spec.defaultValue === 'function') raw[spec.name] = spec.defaultValue(raw);
    else raw[spec.name] = spec.defaultValue;
  }
  return raw;
}

function normalizeAlias(name: string, value: string): string {
  if (name !== 'AUTH0_DOMAIN') return value;
  const host = value.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  return `https://${host}/`;
}

function checkPublicUrl(value: string, isProduction: boolean, problems: string[]): string {
  if (!value) return value;
  const url = parseUrl(value);
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
    problems.push(`PUBLIC_URL: got ${JSON.stringify(value)}; expected ${specOf('PUBLIC_URL').expected}`);
    return value.replace(/\/+$/, '');
  }
  if (isProduction && url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname)) {
    problems.push(`PUBLIC_URL: got ${JSON.stringify(value)}; production needs https (cookies and tokens would cross the network in clear)`);
  }
  return url.origin;
}

function checkIssuer(value: string, problems: string[]): string {
  if (!value) return value;
  const url = parseUrl(value);
  const isLocal = url !== undefined && LOCAL_HOSTS.has(url.hostname);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && isLocal)) || url.search || url.hash) {
    problems.push(`OIDC_ISSUER: got ${JSON.stringify(value)}; expected ${specOf('OIDC_ISSUER').expected}`);
  }
  // Issuer comparison is exact (OIDC Discovery §4.3), so the value is kept as written.
  return value;
}

function checkMetricsPort(metricsPort: number, port: number, problems: string[]): number {
  if (metricsPort === port) problems.push(`METRICS_PORT: ${metricsPort} is PORT too; the metrics need a listener of their own`);
  return metricsPort;
}

function checkOrigins(value: string, problems: string[]): string[] {
  if (!value.trim()) return [];
  return value.split(',').map((entry) => entry.trim()).filter((entry) => {
    const url = parseUrl(entry);
    const secure = url !== undefined && (url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)));
    // An origin is scheme://host[:port] exactly; anything else would never equal a browser's Origin header.
    if (!url || !secure || url.origin !== entry) {
      problems.push(`CORS_ALLOWED_ORIGINS: ${JSON.stringify(entry)} is not an origin; expected ${specOf('CORS_ALLOWED_ORIGINS').expected}`);
      return false;
    }
    return true;
  });
}

function checkSessionSecrets(value: string, problems: string[]): string[] {
  if (!value) return [];
  const secrets = value.split(',').map((s) => s.trim());
  secrets.forEach((secret, index) => {
    if (secret.length < MIN_SESSION_SECRET_CHARS) {
      problems.push(`SESSION_SECRET: secret #${index + 1} has ${secret.length} characters; expected at least ${MIN_SESSION_SECRET_CHARS}`);
    }
  });
  return secrets;
}

function parseTrustProxy(value: string, problems: string[]): boolean | number | string {
  if (value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isTrustedProxyEntry(entry));
  if (bad.length === 0) return entries.join(',');
  problems.push(`TRUST_PROXY: ${bad.map((entry) => JSON.stringify(entry)).join(', ')} not understood; expected ${specOf('TRUST_PROXY').expected}`);
  return false;
}

/** What Express's proxy-addr accepts: a keyword, an address, or an address with a prefix length. */
function isTrustedProxyEntry(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function checkAuthMethod(value: string | undefined, problems: string[]): TokenEndpointAuthMethod | 'invalid' | undefined {
  if (value === undefined) return undefined;
  const method = TOKEN_ENDPOINT_AUTH_METHODS.find((m) => m === value);
  if (method) return method;
  problems.push(`OIDC_TOKEN_ENDPOINT_AUTH_METHOD: got ${JSON.stringify(value)}; expected ${specOf('OIDC_TOKEN_ENDPOINT_AUTH_METHOD').expected}`);
  return 'invalid';
}

/** The one setting whose value is read from a file here: a key that cannot sign must stop the start, not the first login. */
function readClientKey(path: string | undefined, method: TokenEndpointAuthMethod | undefined, problems: string[]): ClientKey | undefined {
  if (method !== 'private_key_jwt') {
    if (path !== undefined) problems.push('OIDC_CLIENT_KEY_FILE: set, but only used with OIDC_TOKEN_ENDPOINT_AUTH_METHOD=private_key_jwt');
    return undefined;
  }
  if (path === undefined) {
    problems.push(`OIDC_CLIENT_KEY_FILE: missing; OIDC_TOKEN_ENDPOINT_AUTH_METHOD=private_key_jwt needs ${specOf('OIDC_CLIENT_KEY_FILE').expected}`);
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`OIDC_CLIENT_KEY_FILE: cannot read ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  try {
    return parseClientKey(text);
  } catch (error) {
    problems.push(`OIDC_CLIENT_KEY_FILE: ${JSON.stringify(path)} ${(error as Error).message}`);
    return undefined;
  }
}

function checkTokenExchange(raw: RawSettings, perMinute: number, problems: string[]): Config['tokenExchange'] {
  const audience = raw.TOKEN_EXCHANGE_AUDIENCE;
  const introspection = raw.TOKEN_EXCHANGE_INTROSPECTION;
  if (introspection !== 'true' && introspection !== 'false') {
    problems.push(`TOKEN_EXCHANGE_INTROSPECTION: got ${JSON.stringify(introspection)}; expected ${specOf('TOKEN_EXCHANGE_INTROSPECTION').expected}`);
  }
  if (audience === undefined) {
    if (introspection === 'true') problems.push('TOKEN_EXCHANGE_INTROSPECTION: true, but token exchange is off; set TOKEN_EXCHANGE_AUDIENCE too');
    return undefined;
  }
  // Compared exactly with the token's aud: a stray space or a non-ASCII look-alike would never match.
  if (!/^[\x21-\x7e]{1,1024}$/.test(audience)) {
    problems.push(`TOKEN_EXCHANGE_AUDIENCE: got ${JSON.stringify(audience.slice(0, 80))}; expected ${specOf('TOKEN_EXCHANGE_AUDIENCE').expected}`);
  }
  return { audience, introspection: introspection === 'true', perMinute };
}

function specOf(name: string): SettingSpec {
  const spec = SETTINGS.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown setting ${name}`);
  return spec;
}

function parseUrl(value: string): URL | undefined {
  try { return new URL(value); } catch { return undefined; }
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
