import { createServer, type RequestListener, type Server } from 'node:http';
import { answerClientError } from '../errors/answer-client-error.ts';

export interface ServerLimits {
  readonly headersTimeoutSeconds: number;
  readonly requestTimeoutSeconds: number;
  readonly keepAliveTimeoutSeconds: number;
  readonly maxConnections: number;
}

// Node checks the header and request deadlines on this interval (default 30 s): a 10 s deadline
// would otherwise be enforced anywhere between 10 and 40 s.
const DEADLINE_CHECK_INTERVAL_MS = 1000;

/**
 * The one place the listener's limits are set, so that a slow or idle client cannot hold a
 * connection for Node's defaults (60 s for headers, 300 s for a request) and the number of open
 * connections has a ceiling.
 */
export function createHttpServer(handler: RequestListener, limits: ServerLimits): Server {
  const server = createServer({
    headersTimeout: limits.headersTimeoutSeconds * 1000,
    requestTimeout: limits.requestTimeoutSeconds * 1000,
    keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
    connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS,
  }, handler);
  server.maxConnections = limits.maxConnections;
  server.on('clientError', answerClientError);
  return server;
}
