import type { RequestHandler } from 'express';

export interface ReadinessChecks {
  sessionStore: () => Promise<boolean>;
  /** Named in the answer when it is down ("SQLite", "Redis"). */
  sessionStoreName: string;
  /** Reported, not required: see provider-state.ts. */
  provider: () => boolean;
  /** Called when the provider is not up, so its state recovers without a login having to try. */
  refreshProvider: () => void;
  /** True once shutdown has begun: the load balancer must stop sending new requests. */
  isDraining: () => boolean;
}

export function liveness(): RequestHandler {
  return function reportAlive(_req, res) {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  };
}

/**
 * Ready = this instance can mint tokens for existing sessions: its session store answers (its
 * config and signing key were checked before it listened). The provider's state is in the body.
 * 503 while the store is down and from the moment shutdown begins.
 */
export function readiness(checks: ReadinessChecks): RequestHandler {
  return function reportReady(_req, res, next) {
    checks.sessionStore().then((sessionStore) => {
      const provider = checks.provider();
      if (!provider) checks.refreshProvider();
      const draining = checks.isDraining();
      const ready = sessionStore && !draining;
      const unavailable = [...(sessionStore ? [] : [`${checks.sessionStoreName} session store`]), ...(draining ? ['shutting down'] : [])];
      res.status(ready ? 200 : 503).set('Cache-Control', 'no-store').json({
        status: ready ? 'ready' : draining ? 'draining' : 'unavailable',
        checks: { sessionStore, signingKey: true, provider },
        ...(ready ? {} : { unavailable }),
      });
    }, next);
  };
}
