import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import session from 'express-session';
import connectSqlite3 from 'connect-sqlite3';
import sqlite3 from 'sqlite3';
import { describeError } from '../errors/describe-error.ts';
import type { Logger } from '../logging/logger.ts';
import type { SessionLifetimes } from './session-expiry.ts';
import {
  createSessionRepository, storeClassWith, type SessionBackend, type SessionRepository,
} from './session-repository.ts';
import { LAST_ACTIVE_AT_KEY } from './session-expiry.ts';
import { createBatchedRowReader, type SessionRow } from './batched-row-reader.ts';

export interface SqliteSessionStoreOptions extends SessionLifetimes {
  path: string;
  logger: Logger;
  now?: () => number;
  cleanupIntervalMs?: number;
  cleanupBatchSize?: number;
  busyTimeoutMs?: number;
}

const TABLE = 'sessions';
// Indexed expressions (a query uses the index only when it repeats the expression exactly). Guarded
// by json_valid: a corrupt row must not make every write or the index creation fail.
const SUB = "(CASE WHEN json_valid(sess) THEN json_extract(sess, '$.passport.user.sub') END)";
const PROVIDER_SID = "(CASE WHEN json_valid(sess) THEN json_extract(sess, '$.passport.user.providerSid') END)";

/**
 * The only import of connect-sqlite3 and sqlite3: the embedded default behind the session
 * repository (session-repository.ts), in connect-sqlite3's table format. connect-sqlite3 0.9.18
 * keeps the schema and the Store plumbing; this adapter replaces what it gets wrong: WAL is set here
 * (its option is read as `concurrentDb`), the table exists before the store is used (it creates it
 * asynchronously), callbacks fire once (it calls back twice on errors), a corrupt row is an absent
 * session (it throws inside a driver callback), and expired rows go in small indexed batches every
 * minute (its own one-statement purge still runs at start and every 24 h, but finds nothing left to
 * delete and cannot crash the process: see backgroundFacade).
 */
export async function openSqliteSessionStore(options: SqliteSessionStoreOptions): Promise<SessionRepository> {
  const now = options.now ?? Date.now;
  const batchSize = options.cleanupBatchSize ?? 1000;
  createDatabaseFile(options.path);
  const db = await openDatabase(options.path, options.busyTimeoutMs ?? 2000, options.logger);
  // Cleanup has a connection of its own: under WAL, token reads on `db` go on while it deletes.
  const cleaner = await openDatabase(options.path, options.busyTimeoutMs ?? 2000, options.logger);
  const readRow = createBatchedRowReader(db, TABLE);
  const claims = new Map<string, number>();
  const all = <T>(sql: string, params: unknown[]) => new Promise<T[]>((resolve, reject) => {
    cleaner.all(sql, params, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows)));
  });

  const run = (sql: string, params: unknown[]) => new Promise<number>((resolve, reject) => {
    cleaner.run(sql, params, function onRun(this: sqlite3.RunResult, error: Error | null) {
      if (error) reject(error); else resolve(this.changes);
    });
  });

  const cleanExpired = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const deleted = await run(
        `DELETE FROM ${TABLE} WHERE rowid IN (SELECT rowid FROM ${TABLE} WHERE expired < ? LIMIT ?)`, [now(), batchSize]);
      total += deleted;
      if (deleted < batchSize) return total;
      await yieldToEventLoop();
    }
  };

  // Before connect-sqlite3 sees the table, so its own one-statement purge at construction finds nothing.
  await cleanExpired();

  const SQLiteStore = connectSqlite3(session) as unknown as new (opts: object) => session.Store;
  const facade = backgroundFacade(db, options.logger);
  const timer = setInterval(() => {
    cleanExpired().then(
      (deleted) => { if (deleted > 0) options.logger.info('sessions_cleaned', { deleted }); },
      (error) => options.logger.warn('session_cleanup_failed', { error: describeError(error) }),
    );
  }, options.cleanupIntervalMs ?? 60_000);
  timer.unref();

  const backend: SessionBackend = {
    name: 'SQLite',
    StoreBase: storeClassWith(SQLiteStore, { db: facade, table: TABLE }),
    readRow: (sid, callback) => readRow(sid, (error: Error | null, row?: SessionRow) => {
      callback(error, row && { json: row.sess, expiresAt: row.expired });
    }),
    writeRow: (sid, json, expiresAt, _now, _owner, callback) => {
      db.run(`INSERT OR REPLACE INTO ${TABLE} (sid, expired, sess) VALUES (?, ?, ?)`, [sid, expiresAt, json], callback);
    },
    // json_set changes that one field in place, so a touch never writes back a stale copy of a record
    // a login changed meanwhile. `expired >= now`: it never brings back an ended session.
    touchRow: (sid, expiresAt, lastActiveAt, current, callback) => {
      db.run(`UPDATE ${TABLE} SET expired = ?, sess = json_set(sess, '$.${LAST_ACTIVE_AT_KEY}', ?) WHERE sid = ? AND expired >= ?`,
        [expiresAt, lastActiveAt, sid, current], callback);
    },
    replaceRow: (sid, json, expiresAt, current, _owner, callback) => {
      db.run(`UPDATE ${TABLE} SET expired = ?, sess = ? WHERE sid = ? AND expired >= ?`, [expiresAt, json, sid, current],
        function onRun(this: sqlite3.RunResult, error: Error | null) { callback(error, !error && this.changes > 0); });
    },
    deleteRow: (sid, callback) => { db.run(`DELETE FROM ${TABLE} WHERE sid = ?`, [sid], callback); },
    deleteOwnedBy: (owner) => (owner.providerSid
      ? run(`DELETE FROM ${TABLE} WHERE ${PROVIDER_SID} = ?${owner.sub ? ` AND ${SUB} = ?` : ''}`, owner.sub ? [owner.providerSid, owner.sub] : [owner.providerSid])
      : run(`DELETE FROM ${TABLE} WHERE ${SUB} = ?`, [owner.sub])),
    listOwnedBy: (sub) => all<SessionRow>(sub === undefined
      ? `SELECT sid, sess, expired FROM ${TABLE} WHERE expired >= ?`
      : `SELECT sid, sess, expired FROM ${TABLE} WHERE ${SUB} = ? AND expired >= ?`, sub === undefined ? [now()] : [sub, now()])
      .then((rows) => rows.map((row) => ({ sid: String(row.sid), row: { json: row.sess, expiresAt: row.expired } }))),
    deleteAll: () => run(`DELETE FROM ${TABLE}`, []),
    // One instance per SQLite file: the process is the whole world these keys need to be unique in.
    claimOnce: async (key, ttlMs) => {
      const current = now();
      for (const [claimed, until] of claims) if (until <= current) claims.delete(claimed);
      if ((claims.get(key) ?? 0) > current) return false;
      claims.set(key, current + ttlMs);
      return true;
    },
    release: async (key) => { claims.delete(key); },
    readTripCount: () => readRow.trips(),
    cleanExpired,
    isHealthy: () => new Promise((resolve) => {
      db.get(`SELECT 1 FROM ${TABLE} LIMIT 1`, (error: Error | null) => resolve(!error));
    }),
    close: () => new Promise((resolve) => {
      clearInterval(timer);
      readRow.close(() => db.close(() => cleaner.close(() => resolve())));
    }),
  };
  return createSessionRepository(backend, options);
}

/**
 * What connect-sqlite3 itself gets to run: its constructor's CREATE TABLE (which throws on error
 * inside the driver callback) and its unconditional purge at start and every 24 h (a statement
 * without callback, whose failure is an 'error' event that would end the process). Both are
 * redundant here, so their failures are logged and go no further. Our overrides use `db` directly.
 */
function backgroundFacade(db: sqlite3.Database, logger: Logger) {
  const report = (error: Error | null) => {
    if (error) logger.warn('session_store_background_failed', { error: (error as Error & { code?: string }).code ?? error.message });
  };
  return {
    exec: (sql: string, callback?: (error: Error | null) => void) => db.exec(sql, (error: Error | null) => {
      report(error);
      if (!error) callback?.(null);
    }),
    run: (sql: string, params: unknown[], callback?: (error: Error | null) => void) => db.run(sql, params, (error: Error | null) => {
      report(error);
      callback?.(error);
    }),
    all: (sql: string, ...rest: unknown[]) => (db.all as (...args: unknown[]) => void)(sql, ...rest),
  };
}

/**
 * Sessions hold ID tokens and claims: owner-only (SQLite gives its -wal and -shm files the database
 * file's mode). Done once, before any connection opens: on Linux, closing *any* descriptor of the
 * file drops every POSIX lock this process holds on it, and the next outside reader (a backup, the
 * sqlite3 CLI, a second instance) then checkpoints and unlinks the -wal we still write to (SQLite's
 * "How To Corrupt An SQLite Database File", §2.2). chmod works by path and opens nothing.
 */
function createDatabaseFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    chmodSync(path, 0o600);
  } catch (error) {
    throw new Error(`cannot create the session database ${path}: ${describeError(error)}`);
  }
}

/** Never opens a plain descriptor of the file: see createDatabaseFile. */
async function openDatabase(path: string, busyTimeoutMs: number, logger: Logger): Promise<sqlite3.Database> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const handle: sqlite3.Database = new sqlite3.Database(path, (error: Error | null) => {
      if (error) reject(new Error(`cannot open the session database ${path}: ${describeError(error)}`)); else resolve(handle);
    });
  });
  db.configure('busyTimeout', busyTimeoutMs);
  // Statements run without a callback report failures as 'error' events; unheard, one would end the process.
  db.on('error', (error: Error) => logger.warn('session_store_background_failed', { error: error.message }));
  await new Promise<void>((resolve, reject) => {
    // WAL lets readers (every token request) proceed while a login writes; NORMAL is durable in WAL mode.
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS ${TABLE} (sid PRIMARY KEY, expired, sess);
      CREATE INDEX IF NOT EXISTS ${TABLE}_expired ON ${TABLE} (expired);
      CREATE INDEX IF NOT EXISTS ${TABLE}_sub ON ${TABLE} ${SUB};
      CREATE INDEX IF NOT EXISTS ${TABLE}_provider_sid ON ${TABLE} ${PROVIDER_SID};`, (error: Error | null) => {
      if (error) {
        db.close(() => undefined);
        reject(new Error(`cannot prepare the session database ${path}: ${describeError(error)}`));
      } else resolve();
    });
  });
  return db;
}
