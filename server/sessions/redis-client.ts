import { createClient, type RedisClientType } from 'redis';
import { describeError } from '../errors/describe-error.ts';
import type { Logger } from '../logging/logger.ts';

export interface RedisConnection {
  client: RedisClientType;
  /** Runs one command with the connection's deadline (see withDeadline). */
  run<T>(command: (client: RedisClientType) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Rejects when the command has not answered in time. node-redis 5's own command timeout did not
 * fire here for commands already written to a Redis that stopped answering (a frozen process, a
 * dead link), so the deadline is kept here; a late answer is ignored.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error: unknown) => { clearTimeout(timer); reject(error); });
  });
}

/**
 * The only import of the `redis` package's client: one connection per process, shared by the
 * session store and the rate limits. Redis being down must never hang a request or end the
 * process: commands time out, nothing queues while disconnected (a queued token request would
 * wait for Redis' return), it reconnects by itself, and a failure is logged once per outage.
 * The URL carries TLS (`rediss://`), credentials and the database number; it is never logged.
 */
export function connectRedis(options: { url: string; logger: Logger; commandTimeoutMs?: number; connectTimeoutMs?: number }): RedisConnection {
  const timeoutMs = options.commandTimeoutMs ?? 1000;
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: timeoutMs },
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      // Every 0.1 s at first, then at most every 2 s, for as long as it takes.
      reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 2000),
    },
  }) as RedisClientType;
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    // Connection errors name the address only, never the URL with its credentials.
    options.logger.warn('redis_unavailable', { error: describeError(error) });
  });
  client.on('ready', () => {
    if (down) options.logger.info('redis_available', {});
    down = false;
    warnIfSessionsCanBeEvicted(client, options.logger, timeoutMs);
  });
  // Not awaited: the process starts without Redis, /readyz says so, and it connects when it can.
  client.connect().catch(() => undefined);
  return {
    client,
    run: (command) => withDeadline(command(client), timeoutMs),
    close: async () => {
      if (client.isOpen) await client.close().catch(() => client.destroy());
    },
  };
}

/**
 * Under any maxmemory-policy but noeviction, a full Redis deletes keys to make room: sessions would
 * end early, and rate-limit counters would reset. Managed services may refuse CONFIG GET: then
 * nothing is known and nothing is said.
 */
function warnIfSessionsCanBeEvicted(client: RedisClientType, logger: Logger, timeoutMs: number): void {
  withDeadline(client.configGet('maxmemory-policy'), timeoutMs).then((reply) => {
    const policy = (reply as Record<string, string>)['maxmemory-policy'];
    if (policy !== undefined && policy !== 'noeviction') {
      logger.warn('redis_may_evict_sessions', { maxmemoryPolicy: policy, hint: 'set maxmemory-policy noeviction on this Redis (README: Running several instances)' });
    }
  }, () => undefined);
}
