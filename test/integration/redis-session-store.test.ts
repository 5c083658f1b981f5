import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { connectRedis, type RedisConnection } from '../../server/sessions/redis-client.ts';
import { openRedisSessionStore } from '../../server/sessions/redis-session-store.ts';
import { read, sessionRepositoryContract, write } from './session-repository-contract.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';

const lifetimes = { idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400 };

describe('the Redis session repository', () => {
  let redis: RunningRedis;
  let prefixes = 0;

  before(async () => { redis = await startRedisServer(); });
  after(async () => { await redis.stop(); });

  describe('keeps the session contract', () => {
    sessionRepositoryContract(async () => {
      // A prefix per test: the key prefix is what lets several deployments share one Redis.
      const keyPrefix = `contract-${(prefixes += 1)}:`;
      const connections: RedisConnection[] = [];
      const admin = connectRedis({ url: redis.url, logger: createMemoryLogger() });
      return {
        open: async (options) => {
          const connection = connectRedis({ url: redis.url, logger: createMemoryLogger() });
          connections.push(connection);
          const repository = openRedisSessionStore({ redis: connection, keyPrefix, logger: createMemoryLogger(), ...options });
          await waitUntil(() => repository.isHealthy());
          return { ...repository, close: async () => { await repository.close(); await connection.close(); } };
        },
        corrupt: async (sid, json) => {
          await waitUntil(async () => admin.client.isReady);
          await admin.client.hSet(`${keyPrefix}sess:${sid}`, 'sess', json);
        },
        cleanup: async () => {
          await admin.close();
          await Promise.all(connections.map((connection) => connection.close()));
        },
      };
    });
  });

  it('keeps each session in one key under the prefix whose TTL follows the idle lifetime, its user index beside it', async () => {
    const connection = connectRedis({ url: redis.url, logger: createMemoryLogger() });
    const sessions = openRedisSessionStore({ redis: connection, keyPrefix: 'ttl:', logger: createMemoryLogger(), ...lifetimes });
    await waitUntil(() => sessions.isHealthy());
    await write(sessions, 'sid', { cookie: { path: '/' }, createdAt: Date.now(), passport: { user: { sub: 'alice', claims: {}, idToken: 'x', loginAt: 1 } } });
    // The session, and the index of its user's sessions (for back-channel logout and revoke).
    assert.deepEqual((await connection.client.keys('ttl:*')).sort(), ['ttl:sess:sid', 'ttl:sub:alice']);
    const ttlSeconds = await connection.client.ttl('ttl:sess:sid');
    assert.ok(ttlSeconds > 3590 && ttlSeconds <= 3600, `TTL ${ttlSeconds} s`);
    await sessions.close();
    await connection.close();
  });

  it('warns at connect when Redis may evict sessions (a maxmemory-policy other than noeviction), and not otherwise', async () => {
    const quiet = createMemoryLogger();
    const fine = connectRedis({ url: redis.url, logger: quiet });
    await waitUntil(() => fine.client.isReady);
    try {
      await fine.client.configSet('maxmemory-policy', 'allkeys-lru');
      const logger = createMemoryLogger();
      const evicting = connectRedis({ url: redis.url, logger });
      await waitUntil(() => logger.entries.some((entry) => entry.event === 'redis_may_evict_sessions'));
      assert.equal(logger.entries.find((entry) => entry.event === 'redis_may_evict_sessions')?.fields.maxmemoryPolicy, 'allkeys-lru');
      await evicting.close();
    } finally {
      await fine.client.configSet('maxmemory-policy', 'noeviction');
      await fine.close();
    }
    assert.ok(!quiet.entries.some((entry) => entry.event === 'redis_may_evict_sessions'));
  });

  it('answers session_store_unavailable within the command timeout while Redis is down, and recovers by itself', async () => {
    const own = await startRedisServer();
    const logger = createMemoryLogger();
    const connection = connectRedis({ url: own.url, logger, commandTimeoutMs: 300 });
    const sessions = openRedisSessionStore({ redis: connection, keyPrefix: 'down:', logger, ...lifetimes });
    try {
      await waitUntil(() => sessions.isHealthy());
      await write(sessions, 'sid', { cookie: { path: '/' }, createdAt: Date.now(), passport: { user: { sub: 'alice', claims: {}, idToken: 'x', loginAt: 1 } } });
      await own.kill();
      const started = Date.now();
      await assert.rejects(read(sessions, 'sid'), { code: 'session_store_unavailable' });
      assert.ok(Date.now() - started < 1500, `a read took ${Date.now() - started} ms to fail`);
      assert.equal(await sessions.isHealthy(), false);
      assert.equal(logger.entries.filter((entry) => entry.event === 'redis_unavailable').length, 1);
      assert.doesNotMatch(JSON.stringify(logger.entries), /redis:\/\//);
      await own.start();
      await waitUntil(() => sessions.isHealthy(), 5000);
      assert.equal(await read(sessions, 'sid'), undefined, 'Redis came back empty (no persistence in this test)');
    } finally {
      await sessions.close();
      await connection.close();
      await own.stop();
    }
  });
});

async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
