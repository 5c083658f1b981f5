import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startEmbeddedProvider } from '../server/dev/embedded-provider.ts';
import { createMemoryLogger } from '../server/logging/logger.ts';
import { TEST_USERS } from '../test/support/oidc-test-provider.ts';
import { freePort, PROJECT_ROOT, startChild, type RunningChild } from './child-process.ts';

export const IDLE_TIMEOUT_SECONDS = 28_800;
const ABSOLUTE_TIMEOUT_SECONDS = 604_800;
// The product's ceiling for this setting (1..1000000 per session per minute); a single session at
// saturation stays well below it, and every answer is checked to be a 200, never a 429.
export const TOKEN_RATE_LIMIT_PER_MINUTE = 1_000_000;
const LOGIN_RATE_LIMIT_PER_MINUTE = 100_000;
const CLIENT_ID = 'hivekit-token-bff-bench';

export interface BenchProvider {
  issuer: string;
  clientSecret: string;
  close(): Promise<void>;
}

/** The real OpenID provider (panva's oidc-provider) in this process, with one client per product port. */
export async function startProvider(productPorts: readonly number[]): Promise<BenchProvider> {
  const clientSecret = randomBytes(24).toString('base64url');
  const provider = await startEmbeddedProvider({
    host: '127.0.0.1',
    port: 0,
    clients: [{
      clientId: CLIENT_ID,
      clientSecret,
      redirectUris: productPorts.map((port) => `http://127.0.0.1:${port}/oauth2/redirect`),
      postLogoutRedirectUris: productPorts.map((port) => `http://127.0.0.1:${port}/`),
    }],
    users: [...TEST_USERS],
    logger: createMemoryLogger(),
  });
  return { issuer: provider.issuer, clientSecret, close: () => provider.close() };
}

export interface ProductSecrets {
  sessionSecret: string;
  hivekitSecret: string;
}

export function generateSecrets(): ProductSecrets {
  return { sessionSecret: randomBytes(32).toString('base64url'), hivekitSecret: randomBytes(32).toString('base64') };
}

/** Where the product keeps sessions: a SQLite file (the default), or Redis as several instances would. */
export type ProductStore = { dbPath: string } | { redisUrl: string; redisKeyPrefix: string };

/** A complete production configuration: nothing left to a default that production refuses. */
export function productEnv(options: { port: number; provider: BenchProvider; secrets: ProductSecrets; dataDir: string } & ProductStore): Record<string, string> {
  return {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(options.port),
    PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    OIDC_ISSUER: options.provider.issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: options.provider.clientSecret,
    OIDC_SCOPE: 'openid profile email',
    SESSION_SECRET: options.secrets.sessionSecret,
    ...('redisUrl' in options
      ? { SESSION_STORE: 'redis', REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: options.redisKeyPrefix }
      : { SESSION_DB: options.dbPath }),
    SESSION_IDLE_TIMEOUT_SECONDS: String(IDLE_TIMEOUT_SECONDS),
    SESSION_ABSOLUTE_TIMEOUT_SECONDS: String(ABSOLUTE_TIMEOUT_SECONDS),
    DATA_DIR: options.dataDir,
    HIVEKIT_TENANT_ID: 'tenant-bench',
    HIVEKIT_SECRET: options.secrets.hivekitSecret,
    HIVEKIT_SECRET_ID: 'kid-bench',
    HIVEKIT_ISSUER: 'platform.hivekit.io',
    TOKEN_TTL_SECONDS: '900',
    PERMISSIONS_FILE: join(PROJECT_ROOT, 'policy.example.json'),
    TRUST_PROXY: 'false',
    RATE_LIMIT_LOGIN_PER_MINUTE: String(LOGIN_RATE_LIMIT_PER_MINUTE),
    RATE_LIMIT_TOKEN_PER_MINUTE: String(TOKEN_RATE_LIMIT_PER_MINUTE),
    // The bench stops its products itself: no need for a load balancer's drain period.
    SHUTDOWN_DRAIN_SECONDS: '0',
  };
}

/** What the bench runs: `npm run build`'s output and the bare route compiled alike (buildBenchTargets). */
export const COMPILED_PRODUCT = 'dist/server/main.js';
export const COMPILED_BARE = 'dist/bench/bare-server.js';

export function startProduct(options: {
  name: string; port: number; provider: BenchProvider; secrets: ProductSecrets; workDir: string; nodeArgs?: readonly string[];
} & ProductStore): Promise<RunningChild> {
  const store: ProductStore = 'redisUrl' in options ? { redisUrl: options.redisUrl, redisKeyPrefix: options.redisKeyPrefix } : { dbPath: options.dbPath };
  return startChild({
    name: options.name,
    // The production command (README): the compiled build, no tsx loader. main() builds it first.
    script: COMPILED_PRODUCT,
    env: productEnv({ port: options.port, provider: options.provider, secrets: options.secrets, dataDir: join(options.workDir, 'data'), ...store }),
    port: options.port,
    logFile: join(options.workDir, `${options.name}.log`),
    readyPath: '/readyz',
    nodeArgs: options.nodeArgs,
  });
}

export async function startBare(options: { body: string; workDir: string; name?: string; nodeArgs?: readonly string[] }): Promise<RunningChild> {
  const port = await freePort();
  const name = options.name ?? 'bare';
  return startChild({
    name,
    script: COMPILED_BARE,
    env: { NODE_ENV: 'production', BARE_PORT: String(port), BARE_BODY: options.body },
    port,
    logFile: join(options.workDir, `${name}.log`),
    readyPath: '/healthz',
    nodeArgs: options.nodeArgs,
  });
}
