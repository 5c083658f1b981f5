import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import type { SessionRepository } from '../../server/sessions/session-repository.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';

const HOUR = 3600_000;
const lifetimes = { idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 24 * 3600 };

function get(handle: SessionRepository, sid: string): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => handle.store.get(sid, (error, data) => (error ? reject(error) : resolve(data as never))));
}
function set(handle: SessionRepository, sid: string, data: object): Promise<void> {
  return new Promise((resolve, reject) => handle.store.set(sid, data as never, (error) => (error ? reject(error) : resolve())));
}
function touch(handle: SessionRepository, sid: string, data: object): Promise<void> {
  return new Promise((resolve, reject) => handle.store.touch!(sid, data as never, (error?: unknown) => (error ? reject(error) : resolve())));
}
function query<T>(path: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path);
    db.all(sql, params, (error: Error | null, rows: T[]) => db.close(() => (error ? reject(error) : resolve(rows))));
  });
}

const signedIn = (createdAt: number) => ({ cookie: { path: '/', httpOnly: true }, createdAt, passport: { user: { sub: 'alice' } } });

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

  it('repeated reads and touches of an unchanged session write nothing to the store', async () => {
    const handle = await openSqliteSessionStore({ path: join(dir, 'touch.db'), ...lifetimes, logger: createMemoryLogger(), now });
    await set(handle, 'sid-1', signedIn(clock));
    const writesAfterLogin = handle.writeCount();
    for (let i = 0; i < 50; i += 1) {
      clock += 1000;
      const data = await get(handle, 'sid-1');
      await touch(handle, 'sid-1', data!);
    }
    assert.equal(handle.writeCount(), writesAfterLogin);
    await handle.close();
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

  it('extends an active session once per touch interval, and an idle session expires on time', async () => {
    const path = join(dir, 'idle.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    const loginAt = clock;
    await set(handle, 'active', signedIn(loginAt));
    await set(handle, 'idle', signedIn(loginAt));
    // Active: used every minute for 3 hours, well past the one-hour idle timeout.
    const writesBefore = handle.writeCount();
    for (let minutes = 1; minutes <= 180; minutes += 1) {
      clock = loginAt + minutes * 60_000;
      const data = await get(handle, 'active');
      assert.ok(data, `the active session ended after ${minutes} minutes`);
      await touch(handle, 'active', data);
    }
    // The touch interval for a one-hour idle timeout is five minutes: 36 writes, not 180.
    assert.equal(handle.writeCount() - writesBefore, 36);
    // Idle: never used after login; there one second before the idle timeout, gone one second after.
    clock = loginAt + HOUR - 1000;
    assert.ok(await get(handle, 'idle'));
    clock = loginAt + HOUR + 1000;
    assert.equal(await get(handle, 'idle'), undefined);
    assert.ok(await get(handle, 'active'));
    await handle.close();
  });

  it('ends a session at its absolute lifetime however active it is', async () => {
    const handle = await openSqliteSessionStore({ path: join(dir, 'absolute.db'), idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 7200, logger: createMemoryLogger(), now });
    const loginAt = clock;
    await set(handle, 'sid', signedIn(loginAt));
    for (let minutes = 10; minutes < 120; minutes += 10) {
      clock = loginAt + minutes * 60_000;
      await touch(handle, 'sid', (await get(handle, 'sid'))!);
    }
    clock = loginAt + 7200_000 + 1;
    assert.equal(await get(handle, 'sid'), undefined);
    await handle.close();
  });

  it('gives a pre-login session (no user yet) fifteen minutes', async () => {
    const handle = await openSqliteSessionStore({ path: join(dir, 'pending.db'), ...lifetimes, logger: createMemoryLogger(), now });
    await set(handle, 'pending', { cookie: { path: '/' }, pendingLogins: {} });
    clock += 14 * 60_000;
    assert.ok(await get(handle, 'pending'));
    clock += 2 * 60_000;
    assert.equal(await get(handle, 'pending'), undefined);
    await handle.close();
  });

  it('never extends a pre-login session, however often it is read and touched: it ends fifteen minutes after its newest login started', async () => {
    const path = join(dir, 'pending-touch.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    const startedAt = clock;
    await set(handle, 'pending', { cookie: { path: '/' }, pendingLogins: { handle: { codeVerifier: 'v', returnTo: '/', createdAt: startedAt } } });
    const [{ expired }] = await query<{ expired: number }>(path, "SELECT expired FROM sessions WHERE sid = 'pending'");
    const writes = handle.writeCount();
    for (let minute = 1; minute <= 14; minute += 1) {
      clock = startedAt + minute * 60_000;
      await touch(handle, 'pending', (await get(handle, 'pending'))!);
    }
    assert.equal(handle.writeCount(), writes);
    assert.deepEqual(await query(path, "SELECT expired FROM sessions WHERE sid = 'pending'"), [{ expired }]);
    clock = startedAt + 15 * 60_000 + 1;
    assert.equal(await get(handle, 'pending'), undefined);
    assert.equal(await handle.cleanExpired(), 1);
    await handle.close();
  });

  it('lowering the idle timeout ends sessions idle longer than the new one, though their stored expiry is later', async () => {
    const path = join(dir, 'lowered-idle.db');
    const before = await openSqliteSessionStore({ path, idleTimeoutSeconds: 8 * 3600, absoluteTimeoutSeconds: 7 * 24 * 3600, logger: createMemoryLogger(), now });
    const loginAt = clock;
    await set(before, 'idle', signedIn(loginAt));
    await set(before, 'active', signedIn(loginAt));
    await before.close();
    const after = await openSqliteSessionStore({ path, idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 7 * 24 * 3600, logger: createMemoryLogger(), now });
    // Used every minute for half an hour, three times the new idle timeout: still alive.
    for (let minute = 1; minute <= 30; minute += 1) {
      clock = loginAt + minute * 60_000;
      const data = await get(after, 'active');
      assert.ok(data, `the active session ended after ${minute} minutes`);
      await touch(after, 'active', data);
    }
    assert.equal(await get(after, 'idle'), undefined);
    await after.close();
  });

  it('lowering the absolute timeout ends sessions older than the new one, however active', async () => {
    const path = join(dir, 'lowered-absolute.db');
    const before = await openSqliteSessionStore({ path, idleTimeoutSeconds: 8 * 3600, absoluteTimeoutSeconds: 7 * 24 * 3600, logger: createMemoryLogger(), now });
    const loginAt = clock;
    await set(before, 'sid', signedIn(loginAt));
    await before.close();
    const after = await openSqliteSessionStore({ path, idleTimeoutSeconds: 8 * 3600, absoluteTimeoutSeconds: 2 * 3600, logger: createMemoryLogger(), now });
    clock = loginAt + 2 * HOUR - 1000;
    assert.ok(await get(after, 'sid'));
    clock = loginAt + 2 * HOUR + 1000;
    assert.equal(await get(after, 'sid'), undefined);
    await after.close();
  });

  it('a touch keeps the changes a login made to the record meanwhile (it updates one field in place)', async () => {
    const handle = await openSqliteSessionStore({ path: join(dir, 'touch-in-place.db'), ...lifetimes, logger: createMemoryLogger(), now });
    await set(handle, 'sid', signedIn(clock));
    const stale = (await get(handle, 'sid'))!;
    await set(handle, 'sid', { ...stale, pendingLogins: { h: { codeVerifier: 'v', returnTo: '/', createdAt: clock } } });
    clock += HOUR / 2;
    await touch(handle, 'sid', stale);
    const data = (await get(handle, 'sid'))!;
    assert.equal(data.lastActiveAt, clock);
    assert.ok(data.pendingLogins, 'the touch wrote back the stale copy it was given');
    await handle.close();
  });

  it('treats a corrupt row as an absent session, logs it without the id, and leaves other sessions alone', async () => {
    const path = join(dir, 'corrupt.db');
    const logger = createMemoryLogger();
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger, now });
    await set(handle, 'good', signedIn(clock));
    await set(handle, 'bad', signedIn(clock));
    await set(handle, 'not-object', signedIn(clock));
    await set(handle, 'bad-cookie', signedIn(clock));
    await query(path, "UPDATE sessions SET sess = '{not json' WHERE sid = 'bad'");
    await query(path, "UPDATE sessions SET sess = '[1,2]' WHERE sid = 'not-object'");
    await query(path, `UPDATE sessions SET sess = '{"cookie":{"originalMaxAge":"x","expires":"never"}}' WHERE sid = 'bad-cookie'`);
    assert.equal(await get(handle, 'bad'), undefined);
    assert.equal(await get(handle, 'not-object'), undefined);
    assert.equal(await get(handle, 'bad-cookie'), undefined);
    assert.ok(await get(handle, 'good'));
    assert.ok(logger.entries.some((e) => e.event === 'session_row_corrupt'));
    assert.doesNotMatch(JSON.stringify(logger.entries), /"bad"/);
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

  it('survives a reopen: a session written before is read after', async () => {
    const path = join(dir, 'restart.db');
    const first = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    await set(first, 'kept', signedIn(clock));
    await first.close();
    const second = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger(), now });
    assert.deepEqual((await get(second, 'kept'))?.passport, { user: { sub: 'alice' } });
    await second.close();
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
