import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProviderCallOutcome } from '../auth/provider-http.ts';

/** What the metrics read at scrape time, so the request paths pay nothing for them. */
export interface MetricSources {
  sessionStore: { name: string; writeCount(): number; readTripCount(): number };
  providerUp(): boolean;
  policyVersion(): number | undefined;
}

/**
 * The product's Prometheus metrics (prom-client: the only import of it). Labels hold only our own
 * vocabulary (routes from the route table, error codes, provider endpoints): never a user id, sub,
 * session id or address.
 */
export function createMetrics(sources: MetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const tokensMinted = new Counter({ name: 'hivekit_bff_tokens_minted_total', help: 'Hivekit access tokens minted.', registers });
  const tokensRefused = new Counter({ name: 'hivekit_bff_tokens_refused_total', help: 'Token requests answered without a token, by error code.', labelNames: ['code'], registers });
  const logins = new Counter({ name: 'hivekit_bff_logins_total', help: 'Login callbacks by outcome (success, refused) and error code.', labelNames: ['outcome', 'code'], registers });
  const callbackSeconds = new Histogram({
    name: 'hivekit_bff_login_callback_duration_seconds', help: 'Time to answer the login callback (code exchange and ID token check included).',
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
  });
  const providerCalls = new Counter({ name: 'hivekit_bff_provider_calls_total', help: 'Calls to the OpenID provider by endpoint and outcome.', labelNames: ['endpoint', 'outcome'], registers });
  const providerSeconds = new Histogram({
    name: 'hivekit_bff_provider_call_duration_seconds', help: 'Duration of calls to the OpenID provider by endpoint.', labelNames: ['endpoint'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers,
  });
  new Gauge({
    name: 'hivekit_bff_provider_up', help: '1 when the provider\'s metadata is loaded and its last answer was not a failure.', registers,
    collect() { this.set(sources.providerUp() ? 1 : 0); },
  });
  const storeErrors = new Counter({ name: 'hivekit_bff_session_store_errors_total', help: 'Requests answered 503 session_store_unavailable, by route.', labelNames: ['route'], registers });
  const storeCounters = { writes: 0, reads: 0 };
  new Counter({
    name: 'hivekit_bff_session_store_writes_total', help: 'Session writes (login, touch, logout) since start.', labelNames: ['store'], registers,
    collect() { const value = sources.sessionStore.writeCount(); this.inc({ store: sources.sessionStore.name }, value - storeCounters.writes); storeCounters.writes = value; },
  });
  new Counter({
    name: 'hivekit_bff_session_store_read_trips_total', help: 'Trips to the session store for reads (reads of one event-loop turn share one).', labelNames: ['store'], registers,
    collect() { const value = sources.sessionStore.readTripCount(); this.inc({ store: sources.sessionStore.name }, value - storeCounters.reads); storeCounters.reads = value; },
  });
  const rateLimited = new Counter({ name: 'hivekit_bff_rate_limited_total', help: 'Requests refused 429 by a rate limit, by route.', labelNames: ['route'], registers });
  new Gauge({
    name: 'hivekit_bff_policy_version', help: 'Version of the permissions policy in force (grows by one per successful reload; 0 without a policy).', registers,
    collect() { this.set(sources.policyVersion() ?? 0); },
  });
  const policyReloads = new Counter({ name: 'hivekit_bff_policy_reloads_total', help: 'Policy reloads by outcome (applied, rejected).', labelNames: ['outcome'], registers });
  const lastReload = new Gauge({ name: 'hivekit_bff_policy_last_reload_success', help: '1 when the last policy reload was applied, 0 when it was rejected (the old policy stays).', registers });
  lastReload.set(1);

  return {
    registry,
    tokenMinted: () => tokensMinted.inc(),
    tokenRefused: (code: string) => tokensRefused.inc({ code }),
    login: (outcome: 'success' | 'refused', code: string, seconds: number) => {
      logins.inc({ outcome, code });
      callbackSeconds.observe(seconds);
    },
    providerCall: (endpoint: string, outcome: ProviderCallOutcome, seconds: number) => {
      providerCalls.inc({ endpoint, outcome });
      providerSeconds.observe({ endpoint }, seconds);
    },
    sessionStoreError: (route: string) => storeErrors.inc({ route }),
    rateLimited: (route: string) => rateLimited.inc({ route }),
    policyReloaded: (applied: boolean) => {
      policyReloads.inc({ outcome: applied ? 'applied' : 'rejected' });
      lastReload.set(applied ? 1 : 0);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
