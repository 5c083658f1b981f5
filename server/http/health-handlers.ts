import type { RequestHandler } from 'express';

export interface ReadinessChecks {
  sessionStore: () => Promise<boolean>;
  /** Named in the answer when it is down ("SQLite", "Redis"). */
  sessionStoreName: string;
  provider: () => boolean;
  /** Called when the provider is not ready, so readiness recovers without a login having to try. */
  refreshProvider: () => void;
}

export function liveness(): RequestHandler {
  return function reportAlive(_req, res) {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  };
}

export function readiness(checks: ReadinessChecks): RequestHandler {
  return function reportReady(_req, res, next) {
    checks.sessionStore().then((sessionStore) => {
      const provider = checks.provider();
      if (!provider) checks.refreshProvider();
      const ready = sessionStore && provider;
      const unavailable = [...(sessionStore ? [] : [`${checks.sessionStoreName} session store`]), ...(provider ? [] : ['OpenID provider'])];
      res.status(ready ? 200 : 503).set('Cache-Control', 'no-store')
        .json({ status: ready ? 'ready' : 'unavailable', checks: { sessionStore, provider }, ...(ready ? {} : { unavailable }) });
    }, next);
  };
}
