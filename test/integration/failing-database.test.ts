import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';
import { startLyingProvider } from '../support/lying-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'db-client';
const JSON_CALLER = { accept: 'application/json' };

/** A real, tiny filesystem: the only honest way to get a full or read-only disk under SQLite. */
function mountTinyFilesystem(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(path: string, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path);
    db.exec(sql, (error: Error | null) => db.close(() => (error ? reject(error) : resolve())));
  });
}

describe('a session database that fails', () => {
  let provider: Awaited<ReturnType<typeof startLyingProvider>>;
  let dir: string;
  let mounted = false;
  let app: TestApp;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    dir = await mkdtemp(join(tmpdir(), 'failing-db-'));
    mounted = mountTinyFilesystem(dir);
    app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', dbPath: join(dir, 'sessions.db'), busyTimeoutMs: 100 });
  });
  after(async () => {
    await app.stop();
    if (mounted) execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
    await provider.close();
  });

  async function login(): Promise<{ jar: CookieJar; status: number; location: string | undefined }> {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar, headers: JSON_CALLER });
    if (start.status !== 302) return { jar, status: start.status, location: undefined };
    const callback = await hop((await hop(start.location!)).location!, { jar, headers: JSON_CALLER });
    return { jar, status: callback.status, location: callback.location };
  }

  it('a full disk refuses new logins with a clean 503, keeps serving existing sessions, and recovers when space returns', async (t) => {
    if (!mounted) return t.skip('cannot mount a tmpfs here (needs root)');
    const alice = await login();
    assert.equal(alice.location, `${app.url}/`);
    const filler = join(dir, 'filler');
    try { execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' }); } catch { /* ENOSPC is the point */ }

    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refused = await login();
      assert.equal(refused.status, 503, `login on a full disk answered ${refused.status}`);
    }
    const token = await hop(`${app.url}/hivekit-access-token`, { jar: alice.jar });
    assert.equal(token.status, 200);
    assert.equal((await hop(`${app.url}/healthz`)).status, 200);

    await rm(filler);
    const bob = await login();
    assert.equal(bob.location, `${app.url}/`);
    assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: bob.jar })).status, 200);
  });

  it('a database locked by another writer answers 503 to logins while token requests go on', async () => {
    const alice = await login();
    const locker = new sqlite3.Database(app.dbPath);
    await new Promise<void>((resolve, reject) => locker.exec('BEGIN EXCLUSIVE', (e: Error | null) => (e ? reject(e) : resolve())));
    try {
      assert.equal((await login()).status, 503);
      assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: alice.jar })).status, 200);
    } finally {
      await new Promise<void>((resolve) => locker.exec('ROLLBACK', () => locker.close(() => resolve())));
    }
    assert.equal((await login()).location, `${app.url}/`);
  });

  it('a database on a read-only disk stops the start-up with one line naming the file', async (t) => {
    const readOnly = await mkdtemp(join(tmpdir(), 'read-only-db-'));
    if (!mountTinyFilesystem(readOnly)) return t.skip('cannot mount a tmpfs here (needs root)');
    try {
      const path = join(readOnly, 'sessions.db');
      await run(path, 'CREATE TABLE sessions (sid PRIMARY KEY, expired, sess)');
      execFileSync('mount', ['-o', 'remount,ro', readOnly]);
      await assert.rejects(
        openSqliteSessionStore({ path, idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 7200, logger: createMemoryLogger() }),
        (error: Error) => error.message.includes(path) && !error.message.includes('\n'),
      );
    } finally {
      execFileSync('umount', ['-l', readOnly]);
      await rm(readOnly, { recursive: true, force: true });
    }
  });

  it('a corrupt row signs out only its own session', async () => {
    const alice = await login();
    const bob = await login();
    await run(app.dbPath, `UPDATE sessions SET sess = '{"cookie":' WHERE sess LIKE '%"passport"%' AND rowid = (SELECT MAX(rowid) FROM sessions WHERE sess LIKE '%"passport"%')`);
    const answers = await Promise.all([alice, bob].map(async (user) => (await hop(`${app.url}/hivekit-access-token`, { jar: user.jar })).status));
    assert.deepEqual(answers.sort(), [200, 401]);
  });

  it('never answers a 500 or leaks SQL in any of this', () => {
    const log = JSON.stringify(app.logger.entries);
    assert.doesNotMatch(log, /"status":500/);
  });
});
