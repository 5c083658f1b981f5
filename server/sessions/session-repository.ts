import session from 'express-session';
import { AppError } from '../errors/app-error.ts';
import type { Logger } from '../logging/logger.ts';
import { fingerprintSessionId } from './fingerprint-session-id.ts';
import {
  computeSessionExpiry, hasOutlivedLifetimes, isTouchDue, type SessionLifetimes,
} from './session-expiry.ts';
import { parseSessionRecord, type SessionRecord } from './session-record.ts';

/** One stored session as a backend keeps it: the record's JSON and when it ends. */
export interface StoredRow {
  json: unknown;
  expiresAt: unknown;
  /** Kept beside the JSON by backends that cannot update one JSON field in place. */
  lastActiveAt?: number;
}

type Done = (error?: Error | null) => void;

/**
 * What a storage engine does for the repository: rows in, rows out, nothing about lifetimes.
 * Callbacks, not promises: `readRow` is on the token route's hot path.
 */
export interface SessionBackend {
  /** Named in error messages and /readyz ("SQLite", "Redis"). */
  readonly name: string;
  /** The express-session Store class of the library this backend wraps, ready to construct. */
  readonly StoreBase: abstract new () => session.Store;
  readRow(sid: string, callback: (error: Error | null, row?: StoredRow) => void): void;
  writeRow(sid: string, json: string, expiresAt: number, now: number, callback: Done): void;
  /** Moves the expiry and `lastActiveAt` of an existing row in place, unless it ended before `now`. */
  touchRow(sid: string, expiresAt: number, lastActiveAt: number, now: number, callback: Done): void;
  deleteRow(sid: string, callback: Done): void;
  isHealthy(): Promise<boolean>;
  /** Trips to the engine for reads: reads asked for in one event-loop turn share one. */
  readTripCount(): number;
  /** Deletes rows that have ended; engines that expire keys themselves return 0. */
  cleanExpired(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The project's session contract, the same over every store: a record ends at its idle or
 * absolute lifetime under the settings in force when it is read, a signed-in session is extended
 * at most once per touch interval, a pre-login one never, a corrupt record is an absent session,
 * and every failure is a `session_store_unavailable` error that fires its callback once.
 * test/integration/session-repository-contract.ts holds every implementation to it.
 */
export interface SessionRepository {
  readonly name: string;
  /** express-session's view of this repository: login, callback and logout write through it. */
  readonly store: session.Store;
  read(sid: string, callback: (error: AppError | null, record?: SessionRecord) => void): void;
  /** Extends a signed-in session's idle lifetime when the touch interval has passed; else nothing. */
  touchIfDue(sid: string, record: SessionRecord, callback: (error?: AppError) => void): void;
  write(sid: string, record: SessionRecord, callback: (error?: AppError) => void): void;
  destroy(sid: string, callback: (error?: AppError) => void): void;
  isHealthy(): Promise<boolean>;
  /** Writes (write, touch, destroy) since start: the token route's steady state must add none. */
  writeCount(): number;
  readTripCount(): number;
  cleanExpired(): Promise<number>;
  close(): Promise<void>;
}

export function createSessionRepository(backend: SessionBackend, options: SessionLifetimes & { logger: Logger; now?: () => number }): SessionRepository {
  const now = options.now ?? Date.now;
  let writes = 0;
  const fail = (operation: string, error: unknown) =>
    new AppError('session_store_unavailable', { detail: `${backend.name} session store ${operation} failed: ${describeError(error)}`, cause: error });

  const repository: Omit<SessionRepository, 'store'> = {
    name: backend.name,
    read(sid, callback) {
      const done = once(callback);
      backend.readRow(sid, (error, row) => {
        if (error) return done(fail('read', error));
        const current = now();
        if (!row || typeof row.expiresAt !== 'number' || row.expiresAt < current) return done(null);
        const record = parseSessionRecord(row.json);
        if (!record) {
          options.logger.warn('session_row_corrupt', { store: backend.name, session: fingerprintSessionId(sid) });
          backend.deleteRow(sid, () => undefined);
          return done(null);
        }
        if (row.lastActiveAt !== undefined) record.lastActiveAt = row.lastActiveAt;
        // Ended under today's settings though its stored expiry is later (a timeout was lowered).
        if (hasOutlivedLifetimes(record, current, options)) return done(null);
        return done(null, record);
      });
    },
    touchIfDue(sid, record, callback) {
      const done = once(callback);
      const current = now();
      if (!isTouchDue(record, current, options)) return done();
      writes += 1;
      const expiresAt = computeSessionExpiry(record, current, options);
      record.lastActiveAt = current;
      return backend.touchRow(sid, expiresAt, current, current, (error) => done(error ? fail('touch', error) : undefined));
    },
    write(sid, record, callback) {
      const done = once(callback);
      const current = now();
      const expiresAt = computeSessionExpiry(record, current, options);
      let json: string;
      try {
        if (record.createdAt !== undefined) record.lastActiveAt = current;
        json = JSON.stringify(record);
      } catch (error) {
        return done(fail('serialize', error));
      }
      writes += 1;
      return backend.writeRow(sid, json, expiresAt, current, (error) => done(error ? fail('write', error) : undefined));
    },
    destroy(sid, callback) {
      const done = once(callback);
      writes += 1;
      backend.deleteRow(sid, (error) => done(error ? fail('delete', error) : undefined));
    },
    isHealthy: () => backend.isHealthy(),
    writeCount: () => writes,
    readTripCount: () => backend.readTripCount(),
    cleanExpired: () => backend.cleanExpired(),
    close: () => backend.close(),
  };
  return { ...repository, store: createExpressStore(backend.StoreBase, repository) };
}

// `any` because that is what express-session's Store declares for these callbacks.
type StoreCallback = (error?: any, value?: any) => void;

/**
 * express-session's Store over the repository, as a subclass of the wrapped library's own store
 * (connect-sqlite3, connect-redis): the library keeps its plumbing, the repository decides.
 */
function createExpressStore(StoreBase: abstract new () => session.Store, repository: Omit<SessionRepository, 'store'>): session.Store {
  class RepositoryStore extends StoreBase {
    override get(sid: string, callback: StoreCallback): void {
      repository.read(sid, (error, record) => (error ? callback(error) : callback(null, record)));
    }
    override set(sid: string, data: session.SessionData, callback?: StoreCallback): void {
      repository.write(sid, data as unknown as SessionRecord, (error) => callback?.(error));
    }
    override touch(sid: string, data: session.SessionData, callback?: StoreCallback): void {
      repository.touchIfDue(sid, data as unknown as SessionRecord, (error) => callback?.(error));
    }
    override destroy(sid: string, callback?: StoreCallback): void {
      repository.destroy(sid, (error) => callback?.(error));
    }
  }
  return new RepositoryStore();
}

/** A library's store class with its constructor options bound, for SessionBackend.StoreBase. */
export function storeClassWith(Base: new (options: object) => session.Store, options: object): abstract new () => session.Store {
  abstract class Bound extends Base {
    constructor() { super(options); }
  }
  return Bound;
}

function once<A extends unknown[]>(callback: (...args: A) => void): (...args: A) => void {
  let called = false;
  return (...args: A) => {
    if (called) return;
    called = true;
    callback(...args);
  };
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as Error & { code?: unknown }).code;
  return code === undefined ? error.message : `${String(code)}: ${error.message}`;
}
