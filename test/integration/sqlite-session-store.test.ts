import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import type { SessionRepository } from '../../server/sessions/session-repository.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';
import { sessionRepositoryContract } from './session-repository-contract.ts';

const lifetimes = { idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 24 * 3600 };

function get(handle: SessionRepository, sid: string): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => handle.store.get(sid, (error, data) => (error ? reject(error) : resolve(data as never))));
}
function set(handle: SessionRepository, sid: string, data: object): Promise<void> {
  return new Promise((resolve, reject) => handle.store.set(sid, data as never, (error) => (error ? reject(error) : resolve())));
}
function query<T>(path: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path);
    db.all(sql, params, (error: Error | null, rows: T[]) => db.close(() => (error ? reject(error) : resolve(rows))));
  });
}

const signedIn = (createdAt: number) => ({ cookie: { path: '/', httpOnly: true }, createdAt, passport: { user: { sub: 'alice' } } });

describe('the SQLite session repository keeps the session contract', () => {
  sessionRepositoryContract(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sqlite-contract-'));
    const path = join(dir, 'sessions.db');
    return {
      open: (options) => openSqliteSessionStore({ path, logger: createMemoryLogger(), ...options }),
      corrupt: async (sid, json) => { await query(path, 'UPDATE sessions SET sess = ? WHERE sid = ?', [json, sid]); },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
});

describe('the SQLite session store', () => {
  let dir: string;
  let clock = 1_800_000_000_000;
  const now = () => clock;

  before(async () => { dir = await mkdtemp(join(tmpdir(), 'store-test-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('runs the database in WAL mode with an index on expiry', async () => {
    const path = join(dir, 'wal.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    await handle.close();
    assert.deepEqual(await query(path, 'PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
    const indexes = await query<{ name: string }>(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'");
    assert.ok(indexes.some((i) => i.name === 'sessions_expired'));
  });

  it('reads asked for in one turn share trips to SQLite, and each gets its own session or none', async () => {
    const handle = await openSqliteSessionStore({ path: join(dir, 'concurrent.db'), ...lifetimes, logger: createMemoryLogger(), now });
    const sids = Array.from({ length: 100 }, (_, i) => `sid-${i}`);
    for (const sid of sids) await set(handle, sid, { ...signedIn(clock), passport: { user: { sub: `user-of-${sid}` } } });
    const asked = [...sids, 'sid-unknown', ...sids];
    const tripsBefore = handle.readTripCount();
    const rows = await Promise.all(asked.map((sid) => get(handle, sid)));
    assert.deepEqual(
      rows.map((row) => (row?.passport as { user: { sub: string } } | undefined)?.user.sub),
      asked.map((sid) => (sid === 'sid-unknown' ? undefined : `user-of-${sid}`)),
    );
    // 201 reads of 101 distinct sessions, at most 32 per statement.
    assert.equal(handle.readTripCount() - tripsBefore, Math.ceil(asked.length / 32));
    // Each caller gets its own copy: one changing its session cannot change another's.
    const [first, second] = await Promise.all([get(handle, 'sid-1'), get(handle, 'sid-1')]);
    assert.notEqual(first, second);
    await get(handle, 'sid-2');
    assert.equal(handle.readTripCount() - tripsBefore, Math.ceil(asked.length / 32) + 2, 'a lone read goes on its own');
    await handle.close();
  });

  it('cleans expired rows in batches while reads go on being served', async () => {
    const path = join(dir, 'cleanup.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now, cleanupBatchSize: 100 });
    await set(handle, 'alive', signedIn(clock));
    await query(path, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
      INSERT INTO sessions (sid, expired, sess) SELECT 'old-' || i, ?, '{"cookie":{}}' FROM n`, [clock - 1]);
    let readsDuringCleanup = 0;
    let cleaning = true;
    const cleanup = handle.cleanExpired().finally(() => { cleaning = false; });
    while (cleaning) {
      assert.ok(await get(handle, 'alive'));
      readsDuringCleanup += 1;
    }
    assert.equal(await cleanup, 5000);
    assert.ok(readsDuringCleanup > 1, `only ${readsDuringCleanup} reads were served while cleaning`);
    assert.deepEqual(await query(path, 'SELECT COUNT(*) AS n FROM sessions'), [{ n: 1 }]);
    await handle.close();
  });

  it('creates the database owner-only, since sessions hold ID tokens', async () => {
    const path = join(dir, 'private.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    await set(handle, 'sid', signedIn(clock));
    // While open: a clean close checkpoints and removes the -wal file, which left nothing to check.
    for (const file of [path, `${path}-wal`]) {
      const mode = (await stat(file)).mode & 0o777;
      assert.equal(mode, 0o600, file);
    }
    await handle.close();
  });

  it('connect-sqlite3\'s own background purge failing does not end the process', async () => {
    const path = join(dir, 'background.db');
    const logger = createMemoryLogger();
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger, now });
    await query(path, 'DROP TABLE sessions');
    // The statement connect-sqlite3 runs every 24 h, through the same handle it was given.
    (handle.store as unknown as { db: { run(sql: string, params: unknown[]): void } }).db.run('DELETE FROM sessions WHERE ? > expired', [clock]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(logger.entries.some((e) => e.event === 'session_store_background_failed'));
    await handle.close();
  });

  it('a read that SQLite cannot prepare answers session_store_unavailable, and reads recover with the table', async () => {
    const path = join(dir, 'moved.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    await set(handle, 'sid-1', signedIn(clock));
    await query(path, 'ALTER TABLE sessions RENAME TO sessions_moved');
    await assert.rejects(get(handle, 'sid-1'), { code: 'session_store_unavailable' });
    await assert.rejects(Promise.all([get(handle, 'sid-1'), get(handle, 'sid-2')]), { code: 'session_store_unavailable' });
    await query(path, 'ALTER TABLE sessions_moved RENAME TO sessions');
    assert.equal(((await get(handle, 'sid-1'))?.passport as { user: { sub: string } }).user.sub, 'alice');
    await handle.close();
  });

  it('closing while a read is being prepared answers that read with an error and still closes the database cleanly', async () => {
    const path = join(dir, 'closing.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    await set(handle, 'sid-1', signedIn(clock));
    const read = get(handle, 'sid-1').then(() => 'answered', (error: { code?: string }) => error.code);
    await new Promise((resolve) => setImmediate(resolve));
    await handle.close();
    assert.equal(await read, 'session_store_unavailable');
    // The last connection to close checkpoints and removes the WAL; a statement left open keeps it.
    await assert.rejects(stat(`${path}-wal`), { code: 'ENOENT' });
  });

  it('a write that fails answers once with session_store_unavailable', async () => {
    const path = join(dir, 'failing.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    await query(path, 'DROP TABLE sessions');
    let calls = 0;
    const error = await new Promise<unknown>((resolve) => {
      handle.store.set('x', signedIn(clock) as never, (e) => { calls += 1; resolve(e); });
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(calls, 1);
    assert.equal((error as { code?: string }).code, 'session_store_unavailable');
    assert.equal(await handle.isHealthy(), false);
    await handle.close();
  });
});
