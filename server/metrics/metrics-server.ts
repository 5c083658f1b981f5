import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** GET /metrics on a listener of its own, so the metrics are never reachable through the public one. */
export function createMetricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => { res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text); },
      () => { res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'); },
    );
  });
}
