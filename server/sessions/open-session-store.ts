import { resolve } from 'node:path';
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../logging/logger.ts';
import type { RedisConnection } from './redis-client.ts';
import type { SessionRepository } from './session-repository.ts';
import { openSqliteSessionStore } from './sqlite-session-store.ts';

export interface OpenedSessionStore {
  sessions: SessionRepository;
  /** The shared Redis connection when SESSION_STORE=redis: the rate limits count there too. */
  redis: RedisConnection | undefined;
  close(): Promise<void>;
}

/** The session repository the configuration asks for; with Redis, the process starts even while Redis is down. */
export async function openSessionStore(config: Config, options: { logger: Logger; now?: () => number; busyTimeoutMs?: number }): Promise<OpenedSessionStore> {
  const lifetimes = { idleTimeoutSeconds: config.session.idleTimeoutSeconds, absoluteTimeoutSeconds: config.session.absoluteTimeoutSeconds };
  const clock = options.now ? { now: options.now } : {};
  if (config.session.store.kind === 'redis') {
    // Loaded only for Redis: the client and its modules are most of an idle process's memory otherwise.
    const [{ connectRedis }, { openRedisSessionStore }] = await Promise.all([import('./redis-client.ts'), import('./redis-session-store.ts')]);
    const redis = connectRedis({ url: config.session.store.redisUrl!, logger: options.logger });
    const sessions = openRedisSessionStore({ redis, keyPrefix: config.session.store.redisKeyPrefix, logger: options.logger, ...lifetimes, ...clock });
    return { sessions, redis, close: async () => { await sessions.close(); await redis.close(); } };
  }
  const sessions = await openSqliteSessionStore({
    path: resolve(config.session.dbPath), logger: options.logger, ...lifetimes, ...clock,
    ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}),
  });
  return { sessions, redis: undefined, close: () => sessions.close() };
}
