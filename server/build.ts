import { resolve } from 'node:path';
import type express from 'express';
import { createApp, type AppDependencies } from './app.ts';
import { chooseAuthMethod } from './auth/client-auth.ts';
import { createIdTokenVerifier } from './auth/id-token-verifier.ts';
import { DEFAULT_PROVIDER_HTTP, type ProviderHttpOptions } from './auth/provider-http.ts';
import { createMetadataSource, type MetadataSource } from './auth/provider-metadata.ts';
import { createProviderState } from './auth/provider-state.ts';
import type { Config } from './config/load-config.ts';
import { createJsonLogger, type Logger } from './logging/logger.ts';
import type { Metrics } from './metrics/create-metrics.ts';
import { createPolicyHolder, type PolicyHolder } from './policy/create-policy-holder.ts';
import { readHivekitSecretFile } from './config/hivekit-secret-file.ts';
import { openSessionStore } from './sessions/open-session-store.ts';
import type { SessionRepository } from './sessions/session-repository.ts';
import { createKeyHolder, type KeyHolder } from './tokens/create-key-holder.ts';
import { policyPermissions } from './tokens/policy-permissions.ts';
import type { PermissionsResolver } from './tokens/token-handler.ts';

export interface BuildOverrides {
  logger?: Logger;
  /** Milliseconds since the epoch, for sessions, limits and tokens alike. */
  now?: () => number;
  /** Timeouts and size caps of calls to the provider (tests shorten them). */
  providerHttp?: ProviderHttpOptions;
  /** How long discovery waits after a failure before asking again (tests: 0). */
  metadataRetryAfterFailureMs?: number;
  /** SQLite's busy timeout (tests of a locked database shorten it). */
  busyTimeoutMs?: number;
  /**
   * Ask the provider before answering anything, so a client authentication it does not support
   * stops the start with the reason (the default). Tests of a failing provider start without it.
   */
  discoverAtStart?: boolean;
  /** Parts handed to createApp in place of the built ones (a lying verifier, another clock …). */
  app?: Partial<AppDependencies>;
}

export interface BuiltProduct {
  app: express.Express;
  sessions: SessionRepository;
  metadata: MetadataSource;
  policy: PolicyHolder | undefined;
  /** HIVEKIT_SECRET_FILE's holder (reload on SIGHUP); undefined with HIVEKIT_SECRET. */
  hivekitKeys: KeyHolder | undefined;
  logger: Logger;
  /** Prometheus metrics; undefined unless METRICS_PORT is set. */
  metrics: Metrics | undefined;
  /** Turns /readyz to 503 (shutdown has begun); the app still answers everything else. */
  beginDrain(): void;
  /** Closes what build opened (policy watcher, session store, Redis): after the listener has stopped. */
  close(): Promise<void>;
}

/**
 * The one composition root: wires config, session store, rate limits, provider, policy, clock and
 * logger into the app. main.ts, the tests (test/support/test-app.ts) and the benchmark (which runs
 * main.ts) all build the product here, so what is tested is what runs.
 */
export async function build(config: Config, overrides: BuildOverrides = {}): Promise<BuiltProduct> {
  const logger = overrides.logger ?? createJsonLogger();
  let metrics: Metrics | undefined;
  const policy = await loadPolicy(config, logger, (applied) => metrics?.policyReloaded(applied));
  const store = await openSessionStore(config, {
    logger,
    ...(overrides.now ? { now: overrides.now } : {}),
    ...(overrides.busyTimeoutMs !== undefined ? { busyTimeoutMs: overrides.busyTimeoutMs } : {}),
  });
  const hivekitKeys = createHivekitKeys(config, logger);
  const close = async () => {
    policy?.holder.close();
    hivekitKeys?.close();
    await store.close();
  };
  let draining = false;
  try {
    let metadata: MetadataSource | undefined;
    const providerState = createProviderState(() => metadata?.isLoaded() ?? false);
    if (config.metrics) {
      // Loaded only when asked for: prom-client's registry costs memory in every process otherwise.
      const { createMetrics } = await import('./metrics/create-metrics.ts');
      metrics = createMetrics({
        sessionStore: store.sessions,
        providerUp: providerState.isUp,
        policyVersion: () => policy?.holder.current().version,
      });
    }
    const providerHttp: ProviderHttpOptions = {
      ...DEFAULT_PROVIDER_HTTP,
      ...overrides.providerHttp,
      observe: (endpoint, outcome, seconds) => {
        providerState.observe(outcome);
        metrics?.providerCall(endpoint, outcome, seconds);
      },
    };
    metadata = createMetadataSource({
      issuer: config.oidc.issuer, logger, http: providerHttp,
      ...(overrides.metadataRetryAfterFailureMs !== undefined ? { retryAfterFailureMs: overrides.metadataRetryAfterFailureMs } : {}),
    });
    if (overrides.discoverAtStart ?? true) {
      // Not fatal: /readyz says so and logins answer 503 until the provider is reachable.
      const provider = await metadata.get().catch(() => undefined);
      // Fatal: a provider that answers but does not take our client authentication (unreachable now, logins check it).
      const clientAuth = provider && chooseAuthMethod({ authMethod: config.oidc.tokenEndpointAuthMethod, clientKey: config.oidc.clientKey }, provider);
      if (clientAuth && 'problem' in clientAuth) throw new Error(clientAuth.problem);
    }
    const app = createApp(config, {
      sessionStore: store.sessions,
      sharedLimits: store.redis && { redis: store.redis, keyPrefix: config.session.store.redisKeyPrefix },
      metadata,
      verifier: createIdTokenVerifier({ clientId: config.oidc.clientId, http: providerHttp }),
      logger,
      permissionsFor: policy?.permissionsFor,
      providerHttp,
      providerUp: providerState.isUp,
      isDraining: () => draining,
      metrics,
      hivekitKeys,
      ...(overrides.now ? { now: overrides.now } : {}),
      ...overrides.app,
    });
    return {
      app, sessions: store.sessions, metadata, policy: policy?.holder, hivekitKeys, logger, metrics, close,
      beginDrain: () => { draining = true; },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function loadPolicy(config: Config, logger: Logger, onReload: (applied: boolean) => void): Promise<{ holder: PolicyHolder; permissionsFor: PermissionsResolver } | undefined> {
  if (!config.permissionsFile) {
    logger.warn('no_permissions_policy', { hint: 'tokens carry empty per and dpv; set PERMISSIONS_FILE (see docs/POLICY.md)' });
    return undefined;
  }
  const holder = await createPolicyHolder({ path: resolve(config.permissionsFile), logger, onReload });
  return { holder, permissionsFor: policyPermissions(holder, logger) };
}

function createHivekitKeys(config: Config, logger: Logger): KeyHolder | undefined {
  const path = config.hivekit.secretFile;
  if (path === undefined) return undefined;
  const checks = {
    isProduction: config.isProduction,
    otherSecrets: { sessionSecrets: config.session.secrets, clientSecret: config.oidc.clientSecret },
  };
  return createKeyHolder({
    path, logger, initial: { kid: config.hivekit.secretId, secret: config.hivekit.secret },
    read: () => readHivekitSecretFile(path, checks),
  });
}
