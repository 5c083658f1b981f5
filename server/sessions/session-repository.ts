import session from 'express-session';
import { boundedCache } from '../bounded-cache.ts';
import { AppError } from '../errors/app-error.ts';
import { describeError } from '../errors/describe-error.ts';
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

/** A request counted against a limit in the same trip to the engine as its session's read. */
export interface ReadLimit {
  /** The counter's key, as the engine stores it. */
  key: string;
  windowMs: number;
  /** Requests allowed per window; past it the row is not read. */
  max: number;
}

export interface LimitCount {
  hits: number;
  /** Milliseconds until the window ends, as the engine counts them. */
  msLeft: number;
}

/** Whose session a row is: what back-channel logout and the operator's revoke find sessions by. */
export interface SessionOwner {
  sub?: string;
  /** The provider's session id (the ID token's `sid`). */
  providerSid?: string;
}

/** What an operator may see of a session: never its id or tokens. */
export interface SessionSummary {
  /** A fingerprint of the session id, the same one the logs use. */
  session: string;
  sub: string | undefined;
  createdAt: number | undefined;
  lastActiveAt: number | undefined;
  expiresAt: number;
}

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
  /**
   * Counts one request against `limit` and reads the row only while the count is within it, in one
   * atomic trip: engines that hold the rate limits too (Redis) offer it to the token route.
   */
  readRowWithin?(sid: string, limit: ReadLimit, callback: (error: Error | null, count?: LimitCount, row?: StoredRow) => void): void;
  writeRow(sid: string, json: string, expiresAt: number, now: number, owner: SessionOwner, callback: Done): void;
  /** Writes only over a row that exists and has not ended at `now`: false when there was none. */
  replaceRow(sid: string, json: string, expiresAt: number, now: number, owner: SessionOwner, callback: (error: Error | null, replaced?: boolean) => void): void;
  /** Moves the expiry and `lastActiveAt` of an existing row in place, unless it ended before `now`. */
  touchRow(sid: string, expiresAt: number, lastActiveAt: number, now: number, callback: Done): void;
  deleteRow(sid: string, callback: Done): void;
  /** Deletes every row of that user (sub) or provider session, found through an index, not a scan. */
  deleteOwnedBy(owner: SessionOwner): Promise<number>;
  /** Rows of one user, or of everyone when `sub` is undefined. */
  listOwnedBy(sub: string | undefined): Promise<Array<{ sid: string; row: StoredRow }>>;
  deleteAll(): Promise<number>;
  /**
   * True for the first caller of `key` within `ttlMs`, across every instance that shares this
   * store (one instance per SQLite file): locks and replay checks.
   */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Gives a claimOnce key back before its time. */
  release(key: string): Promise<void>;
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
  /**
   * As `read`, for a caller that never changes the record (the token route): while the stored row
   * stays the same, every read answers the same object, parsed once.
   */
  readShared(sid: string, callback: (error: AppError | null, record?: Readonly<SessionRecord>) => void): void;
  /** readShared behind a limit, counted in the same trip (when the backend offers readRowWithin): no record past the limit. */
  readonly readSharedWithin?: (sid: string, limit: ReadLimit, callback: (error: AppError | null, count?: LimitCount, record?: Readonly<SessionRecord>) => void) => void;
  /** Extends a signed-in session's idle lifetime when the touch interval has passed; else nothing. */
  touchIfDue(sid: string, record: Readonly<SessionRecord>, callback: (error?: AppError) => void): void;
  write(sid: string, record: SessionRecord, callback: (error?: AppError) => void): void;
  /** Writes a changed record only if its session still exists: a logout meanwhile stays a logout. */
  replace(sid: string, record: SessionRecord, callback: (error: AppError | null, replaced?: boolean) => void): void;
  destroy(sid: string, callback: (error?: AppError) => void): void;
  /** Ends every session of a user (sub) or of a provider session; resolves to how many ended. */
  destroyOwnedBy(owner: SessionOwner): Promise<number>;
  /** The live sessions of a user, or of everyone. */
  listOwnedBy(sub: string | undefined): Promise<SessionSummary[]>;
  destroyAll(): Promise<number>;
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<void>;
  isHealthy(): Promise<boolean>;
  /** Writes (write, touch, destroy) since start: the token route's steady state must add none. */
  writeCount(): number;
  readTripCount(): number;
  cleanExpired(): Promise<number>;
  close(): Promise<void>;
}

// About 2 KB each as parsed objects: a few MB at the bound, for the sessions asking for tokens now.
const MAX_SHARED_RECORDS = 1_000;

export function createSessionRepository(backend: SessionBackend, options: SessionLifetimes & { logger: Logger; now?: () => number }): SessionRepository {
  const now = options.now ?? Date.now;
  let writes = 0;
  const fail = (operation: string, error: unknown) =>
    new AppError('session_store_unavailable', { detail: `${backend.name} session store ${operation} failed: ${describeError(error)}`, cause: error });
  // readShared's records, each with the stored row it was parsed from: a row that differs in any way is parsed anew.
  const shared = boundedCache<string, { json: unknown; lastActiveAt: number | undefined; record: SessionRecord }>(MAX_SHARED_RECORDS);

  // The record a read row holds, or undefined when it has ended or is corrupt (then deleted).
  const recordOf = (sid: string, row: StoredRow | undefined, reuse: boolean): SessionRecord | undefined => {
    const current = now();
    if (!row || typeof row.expiresAt !== 'number' || row.expiresAt < current) {
      if (reuse) shared.delete(sid);
      return undefined;
    }
    const known = reuse ? shared.get(sid) : undefined;
    let record = known && known.json === row.json && known.lastActiveAt === row.lastActiveAt ? known.record : undefined;
    if (!record) {
      record = parseSessionRecord(row.json);
      if (!record) {
        options.logger.warn('session_row_corrupt', { store: backend.name, session: fingerprintSessionId(sid) });
        backend.deleteRow(sid, () => undefined);
        return undefined;
      }
      if (row.lastActiveAt !== undefined) record.lastActiveAt = row.lastActiveAt;
      if (reuse) shared.set(sid, { json: row.json, lastActiveAt: row.lastActiveAt, record });
    }
    // Ended under today's settings though its stored expiry is later (a timeout was lowered).
    return hasOutlivedLifetimes(record, current, options) ? undefined : record;
  };

  const readRecord = (sid: string, reuse: boolean, callback: (error: AppError | null, record?: SessionRecord) => void) => {
    const done = once(callback);
    backend.readRow(sid, (error, row) => (error ? done(fail('read', error)) : done(null, recordOf(sid, row, reuse))));
  };

  const readRowWithin = backend.readRowWithin?.bind(backend);
  const readSharedWithin: SessionRepository['readSharedWithin'] = readRowWithin && ((sid, limit, callback) => {
    const done = once(callback);
    readRowWithin(sid, limit, (error, count, row) => {
      if (error || !count) return done(fail('read', error ?? new Error('no count')));
      return done(null, count, count.hits > limit.max ? undefined : recordOf(sid, row, true));
    });
  });

  const repository: Omit<SessionRepository, 'store'> = {
    name: backend.name,
    read: (sid, callback) => readRecord(sid, false, callback),
    readShared: (sid, callback) => readRecord(sid, true, callback),
    ...(readSharedWithin ? { readSharedWithin } : {}),
    touchIfDue(sid, record, callback) {
      const done = once(callback);
      const current = now();
      if (!isTouchDue(record, current, options)) return done();
      writes += 1;
      const expiresAt = computeSessionExpiry(record, current, options);
      return backend.touchRow(sid, expiresAt, current, current, (error) => done(error ? fail('touch', error) : undefined));
    },
    write(sid, record, callback) {
      const done = once(callback);
      const current = now();
      const serialized = serialize(record, current);
      if (serialized instanceof AppError) return done(serialized);
      writes += 1;
      return backend.writeRow(sid, serialized.json, serialized.expiresAt, current, ownerOf(record), (error) => done(error ? fail('write', error) : undefined));
    },
    replace(sid, record, callback) {
      const done = once(callback);
      const current = now();
      const serialized = serialize(record, current);
      if (serialized instanceof AppError) return done(serialized);
      writes += 1;
      return backend.replaceRow(sid, serialized.json, serialized.expiresAt, current, ownerOf(record), (error, replaced) => {
        if (error) done(fail('write', error)); else done(null, replaced === true);
      });
    },
    destroy(sid, callback) {
      const done = once(callback);
      writes += 1;
      backend.deleteRow(sid, (error) => done(error ? fail('delete', error) : undefined));
    },
    destroyOwnedBy: async (owner) => {
      if (!owner.sub && !owner.providerSid) return 0;
      try {
        return await backend.deleteOwnedBy(owner);
      } catch (error) {
        throw fail('delete', error);
      }
    },
    listOwnedBy: async (sub) => {
      let rows: Array<{ sid: string; row: StoredRow }>;
      try {
        rows = await backend.listOwnedBy(sub);
      } catch (error) {
        throw fail('read', error);
      }
      const current = now();
      return rows.flatMap(({ sid, row }) => {
        const record = parseSessionRecord(row.json);
        if (!record || typeof row.expiresAt !== 'number' || row.expiresAt < current) return [];
        if (row.lastActiveAt !== undefined) record.lastActiveAt = row.lastActiveAt;
        if (hasOutlivedLifetimes(record, current, options)) return [];
        return [{ session: fingerprintSessionId(sid), sub: record.passport?.user?.sub, createdAt: record.createdAt, lastActiveAt: record.lastActiveAt, expiresAt: row.expiresAt }];
      });
    },
    destroyAll: async () => {
      try {
        return await backend.deleteAll();
      } catch (error) {
        throw fail('delete', error);
      }
    },
    claimOnce: async (key, ttlMs) => {
      try {
        return await backend.claimOnce(key, ttlMs);
      } catch (error) {
        throw fail('write', error);
      }
    },
    release: (key) => backend.release(key).catch(() => undefined),
    isHealthy: () => backend.isHealthy(),
    writeCount: () => writes,
    readTripCount: () => backend.readTripCount(),
    cleanExpired: () => backend.cleanExpired(),
    close: () => backend.close(),
  };
  function serialize(record: SessionRecord, current: number): { json: string; expiresAt: number } | AppError {
    try {
      const expiresAt = computeSessionExpiry(record, current, options);
      if (record.createdAt !== undefined) record.lastActiveAt = current;
      return { json: JSON.stringify(record), expiresAt };
    } catch (error) {
      return fail('serialize', error);
    }
  }

  return { ...repository, store: createExpressStore(backend.StoreBase, repository) };
}

function ownerOf(record: SessionRecord): SessionOwner {
  const user = record.passport?.user;
  return { ...(user?.sub ? { sub: user.sub } : {}), ...(user?.providerSid ? { providerSid: user.providerSid } : {}) };
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
