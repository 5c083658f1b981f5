import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import { ERRORS } from '../../server/errors/app-error.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';
import { startLyingProvider } from '../support/lying-provider.ts';
import { CookieJar, hop, type Hop } from '../support/http-hop.ts';
import { logFromNowOn } from '../support/log-from-now-on.ts';
import { cannotRunWithoutRoot } from '../support/root-only.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const CLIENT_ID = 'db-client';
const JSON_CALLER = { accept: 'application/json' };
const BROWSER_NAVIGATION = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

/**
 * A real, tiny filesystem: the only honest way to get a full or read-only disk under SQLite.
 * Answers why it could not be mounted, or undefined once it is.
 */
function mountTinyFilesystem(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').replace(/\s+/g, ' ').trim();
    return `cannot mount a tmpfs here (needs root): ${stderr || (error as Error).message}`.slice(0, 200);
  }
}

function lockDatabase(path: string): Promise<() => Promise<void>> {
  const locker = new sqlite3.Database(path);
  return new Promise((resolve, reject) => locker.exec('BEGIN EXCLUSIVE', (error: Error | null) => (error ? reject(error) : resolve(
    () => new Promise<void>((done) => locker.exec('ROLLBACK', () => locker.close(() => done()))),
  ))));
}

/**
 * A store failure reaches the client as 503 session_store_unavailable and its fixed message; the
 * driver's code, the statement and the file stay in the log.
 */
function assertCleanStoreRefusal(response: Hop, dbPath: string): void {
  assert.equal(response.status, 503, `answered ${response.status}: ${response.text.slice(0, 200)}`);
  const { message } = ERRORS.session_store_unavailable;
  if (response.headers.get('content-type')?.startsWith('text/html')) {
    assert.ok(response.text.includes(`<h1>${message}</h1>`), response.text.slice(0, 300));
    assert.match(response.text, /<code>session_store_unavailable<\/code> \(HTTP 503\)/);
  } else {
    assert.deepEqual(response.json, { error: 'session_store_unavailable', message });
  }
  for (const leak of [/SQLITE_/i, /sqlite/i, /\b(SELECT|INSERT|UPDATE|DELETE|REPLACE|BEGIN|FROM|WHERE)\b/, /\.db\b/, /\.ts:\d+/, /node_modules/]) {
    assert.doesNotMatch(response.text, leak);
  }
  for (const path of [dbPath, tmpdir()]) assert.ok(!response.text.includes(path), `the answer names ${path}`);
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
  let notMounted: string | undefined;
  let app: TestApp;

  before(async () => {
    provider = await startLyingProvider({ clientId: CLIENT_ID });
    dir = await mkdtemp(join(tmpdir(), 'failing-db-'));
    notMounted = mountTinyFilesystem(dir);
    app = await startTestApp({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: 's', dbPath: join(dir, 'sessions.db'), busyTimeoutMs: 100 });
  });
  after(async () => {
    await app.stop();
    if (notMounted === undefined) execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
    await provider.close();
  });

  /** `answer` is the hop that did not redirect, if one did not. */
  async function login(): Promise<{ jar: CookieJar; status: number; location: string | undefined; answer: Hop }> {
    const jar = new CookieJar();
    const start = await hop(`${app.url}/login`, { jar, headers: JSON_CALLER });
    if (start.status !== 302) return { jar, status: start.status, location: undefined, answer: start };
    const callback = await hop((await hop(start.location!)).location!, { jar, headers: JSON_CALLER });
    return { jar, status: callback.status, location: callback.location, answer: callback };
  }

  it('a full disk refuses new logins with a clean 503, keeps serving existing sessions, and recovers when space returns', async (t) => {
    if (notMounted !== undefined) return cannotRunWithoutRoot(t, notMounted);
    const alice = await login();
    assert.equal(alice.location, `${app.url}/`);
    const filler = join(dir, 'filler');
    try { execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' }); } catch { /* ENOSPC is the point */ }

    for (let attempt = 0; attempt < 3; attempt += 1) {
      assertCleanStoreRefusal((await login()).answer, app.dbPath);
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
    const unlock = await lockDatabase(app.dbPath);
    try {
      assert.equal((await login()).status, 503);
      assert.equal((await hop(`${app.url}/hivekit-access-token`, { jar: alice.jar })).status, 200);
    } finally {
      await unlock();
    }
    assert.equal((await login()).location, `${app.url}/`);
  });

  it('a database on a read-only disk stops the start-up with one line naming the file', async (t) => {
    const readOnly = await mkdtemp(join(tmpdir(), 'read-only-db-'));
    const notMountedReadOnly = mountTinyFilesystem(readOnly);
    if (notMountedReadOnly !== undefined) {
      await rm(readOnly, { recursive: true, force: true });
      return cannotRunWithoutRoot(t, notMountedReadOnly);
    }
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

  it('a login refused by a locked database answers 503 session_store_unavailable, as JSON and as a page, without SQL, driver codes or file paths; the cause goes to the log', async () => {
    const log = logFromNowOn(app.logger);
    const unlock = await lockDatabase(app.dbPath);
    let answers: Hop[];
    try {
      answers = [
        await hop(`${app.url}/login`, { jar: new CookieJar(), headers: JSON_CALLER }),
        await hop(`${app.url}/login`, { jar: new CookieJar(), headers: BROWSER_NAVIGATION }),
      ];
    } finally {
      await unlock();
    }
    assert.match(answers[1]!.headers.get('content-type') ?? '', /^text\/html/);
    for (const answer of answers) assertCleanStoreRefusal(answer, app.dbPath);

    const failures = log().filter((entry) => entry.event === 'request_failed');
    assert.equal(failures.length, 2);
    for (const { fields } of failures) {
      assert.equal(fields.status, 503);
      assert.match(String(fields.detail), /SQLITE_BUSY/, 'the driver\'s detail belongs in the log');
    }
    assert.deepEqual(log().filter((entry) => entry.fields.status === 500), []);
  });
});
