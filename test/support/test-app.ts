import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppDependencies } from '../../server/app.ts';
import { build } from '../../server/build.ts';
import type { ProviderHttpOptions } from '../../server/auth/provider-http.ts';
import { loadConfig, type Config } from '../../server/config/load-config.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import type { SessionRepository } from '../../server/sessions/session-repository.ts';

export const TEST_HIVEKIT_SECRET = Buffer.alloc(32, 'hivekit-test-secret');

/** A port reserved before the provider starts, because the provider must know our redirect_uri. */
export async function reservePort(): Promise<{ server: Server; url: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export interface TestApp {
  url: string;
  config: Config;
  sessionStore: SessionRepository;
  logger: ReturnType<typeof createMemoryLogger>;
  dbPath: string;
  /** Stops the app and closes its database; the SQLite file stays until `cleanup`. */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * The real app on a real socket with a real SQLite file in a temp folder. Pass `dbPath` to
 * reopen an earlier app's database (a restart), `listener` to reuse a reserved port.
 */
export async function startTestApp(options: {
  issuer: string;
  clientId: string;
  clientSecret: string;
  listener?: { server: Server; url: string };
  dbPath?: string;
  env?: Record<string, string>;
  deps?: Partial<AppDependencies>;
  providerHttp?: ProviderHttpOptions;
  busyTimeoutMs?: number;
}): Promise<TestApp> {
  const listener = options.listener ?? await reservePort();
  const dir = options.dbPath ? undefined : await mkdtemp(join(tmpdir(), 'bff-test-'));
  const dbPath = options.dbPath ?? join(dir!, 'sessions.db');
  const config = loadConfig({
    NODE_ENV: 'test',
    PUBLIC_URL: listener.url,
    OIDC_ISSUER: options.issuer,
    OIDC_CLIENT_ID: options.clientId,
    OIDC_CLIENT_SECRET: options.clientSecret,
    SESSION_SECRET: 'test-session-secret-of-at-least-32-characters',
    SESSION_DB: dbPath,
    HIVEKIT_TENANT_ID: 'tenant-test',
    HIVEKIT_SECRET: TEST_HIVEKIT_SECRET.toString('base64'),
    HIVEKIT_SECRET_ID: 'kid-test',
    // Suites log in many times from one address; the rate-limit tests set their own low limits.
    RATE_LIMIT_LOGIN_PER_MINUTE: '10000',
    RATE_LIMIT_TOKEN_PER_MINUTE: '100000',
    ...options.env,
  });
  const logger = createMemoryLogger();
  // The product's own composition root; discovery happens at the first login, not at start,
  // so tests of a provider that is down or hanging start at once.
  const product = await build(config, {
    logger,
    providerHttp: options.providerHttp,
    metadataRetryAfterFailureMs: 0,
    discoverAtStart: false,
    ...(options.deps?.now ? { now: options.deps.now } : {}),
    ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
    ...(options.deps ? { app: options.deps } : {}),
  });
  const { app, sessions: sessionStore } = product;
  listener.server.on('request', app);
  return {
    url: listener.url,
    config,
    sessionStore,
    logger,
    dbPath,
    stop: async () => {
      listener.server.closeAllConnections();
      await new Promise<void>((resolve) => listener.server.close(() => resolve()));
      await product.close();
    },
    cleanup: async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
