import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import type { SessionRepository } from '../../server/sessions/session-repository.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';
import { queryFromOtherProcess } from '../support/other-process-sqlite.ts';
import { PROJECT_ROOT } from '../support/start-product.ts';

const lifetimes = { idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400 };
const signedIn = (sub: string) => ({ cookie: { path: '/', httpOnly: true }, createdAt: Date.now(), passport: { user: { sub } } });

function set(handle: SessionRepository, sid: string, data: object): Promise<void> {
  return new Promise((resolve, reject) => handle.store.set(sid, data as never, (error) => (error ? reject(error) : resolve())));
}
function get(handle: SessionRepository, sid: string): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => handle.store.get(sid, (error, data) => (error ? reject(error) : resolve(data as never))));
}
/** Files of this process that the kernel says were unlinked while still open. */
function deletedOpenFiles(prefix: string): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } })
    .filter((target) => target.startsWith(prefix) && target.endsWith('(deleted)'));
}
const sids = (rows: Array<{ sid: string }>) => rows.map((row) => row.sid).sort();

// SQLite's "How To Corrupt An SQLite Database File" §2.2: closing any descriptor of the database
// file drops the process's POSIX locks, and the next outside reader then removes the live -wal.
describe('the session database shared with other processes (backups, the sqlite3 CLI, a second instance)', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'shared-file-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('a read from another process leaves the journal in place, and later writes are visible to other processes', async () => {
    const path = join(dir, 'reader.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger() });
    try {
      await set(handle, 'bob', signedIn('bob'));
      assert.deepEqual(sids(await queryFromOtherProcess(path, 'SELECT sid FROM sessions')), ['bob']);
      assert.ok(existsSync(`${path}-wal`), 'the -wal file the store writes to was removed by an outside reader');
      assert.deepEqual(deletedOpenFiles(path), []);
      await set(handle, 'carol', signedIn('carol'));
      assert.deepEqual(sids(await queryFromOtherProcess(path, 'SELECT sid FROM sessions')), ['bob', 'carol']);
    } finally {
      await handle.close();
    }
  });

  it('a session deleted by hand from another process is refused at once, and stays deleted after a restart', async () => {
    const path = join(dir, 'deleted.db');
    const handle = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger() });
    await set(handle, 'bob', signedIn('bob'));
    await queryFromOtherProcess(path, 'SELECT COUNT(*) FROM sessions');
    await queryFromOtherProcess(path, 'DELETE FROM sessions WHERE sid = ?', ['bob']);
    assert.equal(await get(handle, 'bob'), undefined, 'the store still serves a row deleted by another process');
    await handle.close();
    const reopened = await openSqliteSessionStore({ path, ...lifetimes, logger: createMemoryLogger() });
    assert.equal(await get(reopened, 'bob'), undefined, 'the deleted row came back after a restart');
    await reopened.close();
  });

  it('a session written after an outside read survives a crash (SIGKILL) of the process that wrote it', async () => {
    const path = join(dir, 'crash.db');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/session-store-process.ts', path], { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => JSON.parse((await lines.next()).value as string) as { ok?: boolean; ready?: boolean };
    const send = async (command: object) => { child.stdin.write(`${JSON.stringify(command)}\n`); return next(); };
    try {
      assert.deepEqual(await next(), { ready: true });
      assert.deepEqual(await send({ op: 'set', sid: 'bob', data: signedIn('bob') }), { ok: true });
      await queryFromOtherProcess(path, 'SELECT COUNT(*) FROM sessions');
      assert.deepEqual(await send({ op: 'set', sid: 'carol', data: signedIn('carol') }), { ok: true });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    assert.deepEqual(sids(await queryFromOtherProcess(path, 'SELECT sid FROM sessions')), ['bob', 'carol']);
  });
});
