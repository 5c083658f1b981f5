// Types only: the session store (sqlite-session-store.ts) is the one module that loads sqlite3.
import type sqlite3 from 'sqlite3';

export interface SessionRow { sid: unknown; sess: unknown; expired: unknown }
type RowCallback = (error: Error | null, row?: SessionRow) => void;

// Far below SQLite's limit on parameters; larger turns are split.
const MAX_READ_BATCH = 32;

/**
 * Session reads, batched: every read asked for during one turn of the event loop goes to SQLite as
 * one `WHERE sid IN (…)` at the end of that turn (setImmediate runs after every request the turn
 * parsed), through a statement prepared once per batch size. Under load the trip to the thread
 * pool (queue the work, wake a thread, wake the main thread for the answer) is most of a read's
 * cost, and one trip now serves many requests; a lone read waits only for the end of its turn.
 * Rows are only read, so a batch sees exactly what separate reads would. (node-sqlite3's `db.get` would prepare,
 * run and finalize a statement per read: three trips.)
 */
export function createBatchedRowReader(db: sqlite3.Database, table: string) {
  const statements = new Map<number, sqlite3.Statement>();
  let pending: Array<{ sid: string; callback: RowCallback }> = [];
  let trips = 0;
  let closed = false;

  // Cached only once prepared: node-sqlite3 never calls back the reads of a statement whose prepare failed.
  const withStatement = (size: number, use: (error: Error | null, statement?: sqlite3.Statement) => void) => {
    const cached = statements.get(size);
    if (cached) return use(null, cached);
    const sql = `SELECT sid, sess, expired FROM ${table} WHERE sid IN (${Array.from({ length: size }, () => '?').join(', ')})`;
    const statement: sqlite3.Statement = db.prepare(sql, (error: Error | null) => {
      if (error) {
        statement.finalize(() => undefined);
        return use(error);
      }
      const prepared = statements.get(size);
      if (prepared || closed) {
        // Another batch of this size prepared its own meanwhile (one is enough), or the store closed
        // while this one was preparing (an unfinalized statement would keep the database open).
        statement.finalize(() => undefined);
        return prepared ? use(null, prepared) : use(new Error('the session store is closed'));
      }
      statements.set(size, statement);
      return use(null, statement);
    });
    return undefined;
  };

  const readBatch = (batch: Array<{ sid: string; callback: RowCallback }>) => {
    const sids = [...new Set(batch.map((read) => read.sid))];
    trips += 1;
    const answer = (error: Error | null, rows?: SessionRow[]) => {
      const bySid = new Map((rows ?? []).map((row) => [row.sid, row]));
      for (const read of batch) read.callback(error, error ? undefined : bySid.get(read.sid));
    };
    withStatement(sids.length, (prepareError, statement) => {
      if (!statement) return answer(prepareError);
      return statement.all(sids, (error: Error | null, rows?: SessionRow[]) => {
        if (error && statements.get(sids.length) === statement) {
          // Prepared anew for the next batch (the schema may have changed under it).
          statements.delete(sids.length);
          statement.finalize(() => undefined);
        }
        answer(error, rows);
      });
    });
  };

  const flush = () => {
    const reads = pending;
    pending = [];
    for (let start = 0; start < reads.length; start += MAX_READ_BATCH) readBatch(reads.slice(start, start + MAX_READ_BATCH));
  };

  const read = (sid: string, callback: RowCallback) => {
    if (closed) return callback(new Error('the session store is closed'));
    if (pending.length === 0) setImmediate(flush);
    pending.push({ sid, callback });
  };
  read.trips = () => trips;
  read.close = (done: () => void) => {
    closed = true;
    let open = statements.size;
    if (open === 0) return done();
    for (const statement of statements.values()) statement.finalize(() => { open -= 1; if (open === 0) done(); });
    statements.clear();
    return undefined;
  };
  return read;
}
