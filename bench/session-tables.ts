import sqlite3 from 'sqlite3';

// The product's table, as server/sessions/sqlite-session-store.ts creates it: sessions(sid PRIMARY KEY, expired, sess).
const TABLE = 'sessions';
const SUB_MARK = '@@bench-sub@@';
const LAST_ACTIVE_MARK = 987654321012345;

export interface Db {
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export async function openDb(path: string, mode: number = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<Db> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const handle: sqlite3.Database = new sqlite3.Database(path, mode, (error) => (error ? reject(error) : resolve(handle)));
  });
  db.configure('busyTimeout', 10_000);
  return {
    all: <T>(sql: string, params: unknown[] = []) => new Promise<T[]>((resolve, reject) => {
      db.all(sql, params, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows)));
    }),
    run: (sql, params = []) => new Promise<number>((resolve, reject) => {
      db.run(sql, params, function onRun(this: sqlite3.RunResult, error: Error | null) {
        if (error) reject(error); else resolve(this.changes);
      });
    }),
    exec: (sql) => new Promise<void>((resolve, reject) => { db.exec(sql, (error) => (error ? reject(error) : resolve())); }),
    close: () => new Promise<void>((resolve) => { db.close(() => resolve()); }),
  };
}

export interface SessionRow {
  sid: string;
  expired: number;
  sess: string;
}

export async function readSessionRow(path: string, sid: string): Promise<SessionRow | undefined> {
  const db = await openDb(path, sqlite3.OPEN_READONLY);
  try {
    return (await db.all<SessionRow>(`SELECT sid, expired, sess FROM ${TABLE} WHERE sid = ?`, [sid]))[0];
  } finally {
    await db.close();
  }
}

/**
 * A copy of the product's live database (schema, indexes and the sessions logged in through the
 * provider) made with VACUUM INTO, then grown to `totalRows` with rows shaped exactly like `template`
 * (a real row): same JSON, a distinct subject and sid each, `expired` spread over the last minute of
 * an idle window that starts now, so no request needs to touch them. One transaction.
 */
export async function createFilledCopy(options: {
  livePath: string;
  copyPath: string;
  totalRows: number;
  template: SessionRow;
  idleTimeoutMs: number;
  now: number;
  /** When given, every other filler row ends at this time instead (for the cleanup measurement). */
  expireHalfAt?: number;
}): Promise<{ fillMs: number; rows: number; expiring: number }> {
  const live = await openDb(options.livePath, sqlite3.OPEN_READONLY);
  try {
    await live.exec(`VACUUM INTO '${options.copyPath.replaceAll("'", "''")}'`);
  } finally {
    await live.close();
  }
  const data = JSON.parse(options.template.sess) as Record<string, unknown> & { passport?: { user?: Record<string, unknown> } };
  const user = data.passport?.user;
  if (!user) throw new Error('the template session has no passport.user');
  user.sub = SUB_MARK;
  if (user.claims && typeof user.claims === 'object') (user.claims as Record<string, unknown>).sub = SUB_MARK;
  // Each filler row was last active one idle lifetime before it expires, as a real row is.
  if ('lastActiveAt' in data) data.lastActiveAt = LAST_ACTIVE_MARK;
  const template = JSON.stringify(data);

  const started = performance.now();
  const db = await openDb(options.copyPath);
  try {
    const existing = (await db.all<{ n: number }>(`SELECT count(*) AS n FROM ${TABLE}`))[0]!.n;
    const filler = Math.max(0, options.totalRows - existing);
    const newest = options.now + options.idleTimeoutMs;
    const halfAt = options.expireHalfAt ?? null;
    await db.exec('PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; BEGIN');
    // `expired` from x, not random(): SQLite may evaluate a column expression more than once per row.
    await db.run(`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?),
      r(x, expired) AS (SELECT x, CASE WHEN ? IS NOT NULL AND x % 2 = 0 THEN ? ELSE ? - (x * 7919) % 60000 END FROM n)
      INSERT INTO ${TABLE} (sid, expired, sess)
      SELECT lower(hex(randomblob(16))), expired, replace(replace(?, '${SUB_MARK}', 'bench-user-' || x), '${LAST_ACTIVE_MARK}', expired - ?)
      FROM r`, [filler, halfAt, halfAt, newest, template, options.idleTimeoutMs]);
    await db.exec('COMMIT');
    const rows = (await db.all<{ n: number }>(`SELECT count(*) AS n FROM ${TABLE}`))[0]!.n;
    const expiring = halfAt === null ? 0 : (await db.all<{ n: number }>(`SELECT count(*) AS n FROM ${TABLE} WHERE expired = ?`, [halfAt]))[0]!.n;
    return { fillMs: performance.now() - started, rows, expiring };
  } finally {
    await db.close();
  }
}

/**
 * `count` filler session ids spread evenly over the table, so lookups touch all of it; only rows
 * still live at `liveUntil`, so they stay signed in through a cleanup of the others.
 */
export async function spreadSessionIds(path: string, count: number, liveUntil: number): Promise<string[]> {
  const db = await openDb(path, sqlite3.OPEN_READONLY);
  try {
    const first = (await db.all<{ id: number }>(`SELECT rowid AS id FROM ${TABLE} WHERE sess LIKE '%bench-user-%' ORDER BY rowid LIMIT 1`))[0]!.id;
    const last = (await db.all<{ id: number }>(`SELECT max(rowid) AS id FROM ${TABLE}`))[0]!.id;
    const candidates = new Set<number>();
    for (let k = 0; k < 2 * count; k += 1) candidates.add(first + Math.floor((k * (last - first)) / (2 * count)));
    const rows = await db.all<{ sid: string }>(
      `SELECT sid FROM ${TABLE} WHERE rowid IN (${[...candidates].join(',')}) AND expired > ? ORDER BY rowid`, [liveUntil]);
    return rows.slice(0, count).map((row) => row.sid);
  } finally {
    await db.close();
  }
}

export async function countRows(path: string, expiredBefore: number): Promise<{ rows: number; expired: number }> {
  const db = await openDb(path, sqlite3.OPEN_READONLY);
  try {
    const rows = (await db.all<{ n: number }>(`SELECT count(*) AS n FROM ${TABLE}`))[0]!.n;
    const expired = (await db.all<{ n: number }>(`SELECT count(*) AS n FROM ${TABLE} WHERE expired < ?`, [expiredBefore]))[0]!.n;
    return { rows, expired };
  } finally {
    await db.close();
  }
}

/**
 * Sees commits made by other connections (the product): SQLite's `PRAGMA data_version` changes on
 * this connection whenever another connection has committed since the last call.
 */
export async function watchCommits(path: string): Promise<{ committedSinceLastCall(): Promise<boolean>; close(): Promise<void> }> {
  const db = await openDb(path, sqlite3.OPEN_READONLY);
  const version = async () => (await db.all<{ data_version: number }>('PRAGMA data_version'))[0]!.data_version;
  let last = await version();
  return {
    committedSinceLastCall: async () => {
      const current = await version();
      const changed = current !== last;
      last = current;
      return changed;
    },
    close: () => db.close(),
  };
}
