import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import type { SessionLifetimes } from '../../server/sessions/session-expiry.ts';
import type { SessionRecord } from '../../server/sessions/session-record.ts';
import type { SessionRepository } from '../../server/sessions/session-repository.ts';

/** One place sessions are kept; `open` may be called again on it, with other settings (a restart). */
export interface ContractStorage {
  open(options: SessionLifetimes & { now: () => number; logger?: ReturnType<typeof createMemoryLogger> }): Promise<SessionRepository>;
  /** Replaces a stored record's JSON by hand, as a bad migration or a disk error would. */
  corrupt(sid: string, json: string): Promise<void>;
  cleanup(): Promise<void>;
}

const HOUR = 3600_000;
const lifetimes = { idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 24 * 3600 };
const signedIn = (createdAt: number, sub = 'alice'): SessionRecord =>
  ({ cookie: { path: '/', httpOnly: true }, createdAt, passport: { user: { sub, claims: {}, idToken: 'id', loginAt: createdAt } } });

export function read(repository: SessionRepository, sid: string): Promise<SessionRecord | undefined> {
  return new Promise((resolve, reject) => repository.read(sid, (error, record) => (error ? reject(error) : resolve(record))));
}
function readShared(repository: SessionRepository, sid: string): Promise<Readonly<SessionRecord> | undefined> {
  return new Promise((resolve, reject) => repository.readShared(sid, (error, record) => (error ? reject(error) : resolve(record))));
}
export function write(repository: SessionRepository, sid: string, record: SessionRecord): Promise<void> {
  return new Promise((resolve, reject) => repository.write(sid, structuredClone(record), (error) => (error ? reject(error) : resolve())));
}
export function touchIfDue(repository: SessionRepository, sid: string, record: SessionRecord): Promise<void> {
  return new Promise((resolve, reject) => repository.touchIfDue(sid, record, (error) => (error ? reject(error) : resolve())));
}
function replace(repository: SessionRepository, sid: string, record: SessionRecord): Promise<boolean> {
  return new Promise((resolve, reject) => repository.replace(sid, structuredClone(record), (error, replaced) => (error ? reject(error) : resolve(replaced === true))));
}
function destroy(repository: SessionRepository, sid: string): Promise<void> {
  return new Promise((resolve, reject) => repository.destroy(sid, (error) => (error ? reject(error) : resolve())));
}

/**
 * The session contract (server/sessions/session-repository.ts) that every store must keep. Call
 * inside a describe(); `storage()` gives a fresh, empty place for each test.
 */
export function sessionRepositoryContract(storage: () => Promise<ContractStorage>): void {
  let clock = 1_800_000_000_000;
  const now = () => clock;

  async function withStorage(use: (place: ContractStorage) => Promise<void>): Promise<void> {
    const place = await storage();
    try { await use(place); } finally { await place.cleanup(); }
  }

  it('a written session reads back equal, and a destroyed one reads as absent', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    await write(sessions, 'sid', signedIn(clock));
    assert.deepEqual((await read(sessions, 'sid'))?.passport, signedIn(clock).passport);
    assert.equal(await read(sessions, 'unknown'), undefined);
    await destroy(sessions, 'sid');
    assert.equal(await read(sessions, 'sid'), undefined);
    await sessions.close();
  }));

  it('repeated reads and touches of an unchanged session write nothing', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    await write(sessions, 'sid', signedIn(clock));
    const writes = sessions.writeCount();
    for (let i = 0; i < 50; i += 1) {
      clock += 1000;
      await touchIfDue(sessions, 'sid', (await read(sessions, 'sid'))!);
    }
    assert.equal(sessions.writeCount(), writes);
    await sessions.close();
  }));

  it('extends an active session once per touch interval, and an idle session ends on time', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    const loginAt = clock;
    await write(sessions, 'active', signedIn(loginAt));
    await write(sessions, 'idle', signedIn(loginAt));
    const writes = sessions.writeCount();
    for (let minutes = 1; minutes <= 180; minutes += 1) {
      clock = loginAt + minutes * 60_000;
      const record = await read(sessions, 'active');
      assert.ok(record, `the active session ended after ${minutes} minutes`);
      await touchIfDue(sessions, 'active', record);
    }
    // The touch interval for a one-hour idle timeout is five minutes: 36 writes, not 180.
    assert.equal(sessions.writeCount() - writes, 36);
    clock = loginAt + HOUR - 1000;
    assert.ok(await read(sessions, 'idle'));
    clock = loginAt + HOUR + 1000;
    assert.equal(await read(sessions, 'idle'), undefined);
    assert.ok(await read(sessions, 'active'));
    await sessions.close();
  }));

  it('ends a session at its absolute lifetime however active it is', () => withStorage(async (place) => {
    const sessions = await place.open({ idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 7200, now });
    const loginAt = clock;
    await write(sessions, 'sid', signedIn(loginAt));
    for (let minutes = 10; minutes < 120; minutes += 10) {
      clock = loginAt + minutes * 60_000;
      await touchIfDue(sessions, 'sid', (await read(sessions, 'sid'))!);
    }
    clock = loginAt + 7200_000 + 1;
    assert.equal(await read(sessions, 'sid'), undefined);
    await sessions.close();
  }));

  it('never extends a pre-login session: it ends fifteen minutes after its newest login started', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    const startedAt = clock;
    await write(sessions, 'pending', { cookie: { path: '/' }, pendingLogins: { h: { codeVerifier: 'v', returnTo: '/', createdAt: startedAt } } });
    const writes = sessions.writeCount();
    for (let minute = 1; minute <= 14; minute += 1) {
      clock = startedAt + minute * 60_000;
      const record = await read(sessions, 'pending');
      assert.ok(record, `the pre-login session ended after ${minute} minutes`);
      await touchIfDue(sessions, 'pending', record);
    }
    assert.equal(sessions.writeCount(), writes);
    clock = startedAt + 15 * 60_000 + 1;
    assert.equal(await read(sessions, 'pending'), undefined);
    await sessions.close();
  }));

  it('lowering the idle timeout ends sessions idle longer than the new one, and keeps active ones alive', () => withStorage(async (place) => {
    const before = await place.open({ idleTimeoutSeconds: 8 * 3600, absoluteTimeoutSeconds: 7 * 24 * 3600, now });
    const loginAt = clock;
    await write(before, 'idle', signedIn(loginAt));
    await write(before, 'active', signedIn(loginAt));
    await before.close();
    const after = await place.open({ idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 7 * 24 * 3600, now });
    for (let minute = 1; minute <= 30; minute += 1) {
      clock = loginAt + minute * 60_000;
      const record = await read(after, 'active');
      assert.ok(record, `the active session ended after ${minute} minutes`);
      await touchIfDue(after, 'active', record);
    }
    assert.equal(await read(after, 'idle'), undefined);
    await after.close();
  }));

  it('lowering the absolute timeout ends sessions older than the new one', () => withStorage(async (place) => {
    const before = await place.open({ idleTimeoutSeconds: 8 * 3600, absoluteTimeoutSeconds: 7 * 24 * 3600, now });
    const loginAt = clock;
    await write(before, 'sid', signedIn(loginAt));
    await before.close();
    const after = await place.open({ idleTimeoutSeconds: 8 * 3600, absoluteTimeoutSeconds: 2 * 3600, now });
    clock = loginAt + 2 * HOUR - 1000;
    assert.ok(await read(after, 'sid'));
    clock = loginAt + 2 * HOUR + 1000;
    assert.equal(await read(after, 'sid'), undefined);
    await after.close();
  }));

  it('a touch keeps the changes a login made to the record meanwhile, and never brings back a destroyed session', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    await write(sessions, 'sid', signedIn(clock));
    const stale = (await read(sessions, 'sid'))!;
    await write(sessions, 'sid', { ...stale, pendingLogins: { h: { codeVerifier: 'v', returnTo: '/', createdAt: clock } } });
    clock += HOUR / 2;
    await touchIfDue(sessions, 'sid', stale);
    const record = (await read(sessions, 'sid'))!;
    assert.equal(record.lastActiveAt, clock);
    assert.ok(record.pendingLogins, 'the touch wrote back the stale copy it was given');
    await destroy(sessions, 'sid');
    clock += HOUR / 2;
    await touchIfDue(sessions, 'sid', record);
    assert.equal(await read(sessions, 'sid'), undefined);
    await sessions.close();
  }));

  it('readShared parses an unchanged row once, and sees every write, touch, lifetime and destroy at its next read', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    const loginAt = clock;
    await write(sessions, 'sid', signedIn(loginAt));
    const first = await readShared(sessions, 'sid');
    assert.ok(first);
    assert.equal(await readShared(sessions, 'sid'), first, 'an unchanged row was parsed again');
    assert.deepEqual(first, await read(sessions, 'sid'));
    clock += HOUR / 2;
    await touchIfDue(sessions, 'sid', first);
    const touched = (await readShared(sessions, 'sid'))!;
    assert.equal(touched.lastActiveAt, clock, 'the touch was not seen');
    assert.equal(first.lastActiveAt, loginAt, 'the touch changed the shared record');
    await write(sessions, 'sid', { ...touched, pendingLogins: { h: { codeVerifier: 'v', returnTo: '/', createdAt: clock } } });
    assert.ok((await readShared(sessions, 'sid'))?.pendingLogins, 'the write was not seen');
    clock += HOUR + 1000;
    assert.equal(await readShared(sessions, 'sid'), undefined, 'an idle session was answered');
    await write(sessions, 'other', signedIn(clock, 'bob'));
    assert.ok(await readShared(sessions, 'other'));
    await destroy(sessions, 'other');
    assert.equal(await readShared(sessions, 'other'), undefined, 'a destroyed session was answered');
    await write(sessions, 'corrupt', signedIn(clock));
    assert.ok(await readShared(sessions, 'corrupt'));
    await place.corrupt('corrupt', '{"not a session');
    assert.equal(await readShared(sessions, 'corrupt'), undefined, 'a corrupt row was answered');
    await sessions.close();
  }));

  it('a corrupt record is an absent session, logged without its id, and other sessions are untouched', () => withStorage(async (place) => {
    const logger = createMemoryLogger();
    const sessions = await place.open({ ...lifetimes, now, logger });
    await write(sessions, 'good', signedIn(clock));
    for (const sid of ['bad-json', 'not-object', 'bad-cookie']) await write(sessions, sid, signedIn(clock));
    await place.corrupt('bad-json', '{not json');
    await place.corrupt('not-object', '[1,2]');
    await place.corrupt('bad-cookie', '{"cookie":{"originalMaxAge":"x","expires":"never"}}');
    for (const sid of ['bad-json', 'not-object', 'bad-cookie']) assert.equal(await read(sessions, sid), undefined, sid);
    assert.ok(await read(sessions, 'good'));
    assert.equal(logger.entries.filter((entry) => entry.event === 'session_row_corrupt').length, 3);
    assert.doesNotMatch(JSON.stringify(logger.entries), /bad-json|not-object|bad-cookie/);
    await sessions.close();
  }));

  it('replace writes over a live session only: a session destroyed meanwhile stays destroyed', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    await write(sessions, 'sid', signedIn(clock));
    const record = (await read(sessions, 'sid'))!;
    assert.equal(await replace(sessions, 'sid', { ...record, passport: { user: { ...record.passport!.user!, claims: { groups: ['new'] } } } }), true);
    assert.deepEqual((await read(sessions, 'sid'))?.passport?.user?.claims, { groups: ['new'] });
    await destroy(sessions, 'sid');
    assert.equal(await replace(sessions, 'sid', record), false);
    assert.equal(await read(sessions, 'sid'), undefined);
    await sessions.close();
  }));

  it('ends every session of one user, or of one provider session, and nobody else\'s', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    const withProviderSid = (sub: string, providerSid: string): SessionRecord => {
      const record = signedIn(clock, sub);
      record.passport!.user!.providerSid = providerSid;
      return record;
    };
    await write(sessions, 'alice-laptop', withProviderSid('alice', 'op-1'));
    await write(sessions, 'alice-phone', withProviderSid('alice', 'op-2'));
    await write(sessions, 'alice-tablet', withProviderSid('alice', 'op-2'));
    await write(sessions, 'bob-laptop', withProviderSid('bob', 'op-3'));
    await write(sessions, 'pending', { cookie: { path: '/' }, pendingLogins: { h: { codeVerifier: 'v', returnTo: '/', createdAt: clock } } });
    assert.deepEqual((await sessions.listOwnedBy('alice')).map((s) => s.sub), ['alice', 'alice', 'alice']);
    assert.equal((await sessions.listOwnedBy(undefined)).length, 5);
    assert.doesNotMatch(JSON.stringify(await sessions.listOwnedBy(undefined)), /alice-laptop|bob-laptop/, 'a listing shows fingerprints, never session ids');
    assert.equal(await sessions.destroyOwnedBy({ providerSid: 'op-2', sub: 'mallory' }), 0);
    assert.equal(await sessions.destroyOwnedBy({ providerSid: 'op-2' }), 2);
    assert.ok(await read(sessions, 'alice-laptop'));
    assert.equal(await read(sessions, 'alice-phone'), undefined);
    assert.equal(await sessions.destroyOwnedBy({ sub: 'alice' }), 1);
    assert.equal(await read(sessions, 'alice-laptop'), undefined);
    assert.ok(await read(sessions, 'bob-laptop'), 'another user\'s session ended');
    assert.ok(await read(sessions, 'pending'));
    assert.equal(await sessions.destroyOwnedBy({}), 0);
    assert.equal(await sessions.destroyAll(), 2);
    assert.equal(await read(sessions, 'bob-laptop'), undefined);
    await sessions.close();
  }));

  it('claimOnce answers true to the first caller of a key only, until its time is up or it is released', () => withStorage(async (place) => {
    const sessions = await place.open({ ...lifetimes, now });
    const other = await place.open({ ...lifetimes, now });
    assert.equal(await sessions.claimOnce('jti-1', 60_000), true);
    assert.equal(await sessions.claimOnce('jti-1', 60_000), false);
    assert.equal(await sessions.claimOnce('jti-2', 60_000), true);
    await sessions.release('jti-2');
    assert.equal(await sessions.claimOnce('jti-2', 60_000), true);
    await other.close();
    await sessions.close();
  }));

  it('a session written before a restart is read after it', () => withStorage(async (place) => {
    const first = await place.open({ ...lifetimes, now });
    await write(first, 'kept', signedIn(clock, 'bob'));
    await first.close();
    const second = await place.open({ ...lifetimes, now });
    assert.equal((await read(second, 'kept'))?.passport?.user?.sub, 'bob');
    assert.equal(await second.isHealthy(), true);
    await second.close();
  }));
}
