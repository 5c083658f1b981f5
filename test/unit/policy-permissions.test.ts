import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SessionUser } from '../../server/auth/session-user.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { compilePolicy } from '../../server/policy/compile-policy.ts';
import type { PolicyHolder } from '../../server/policy/create-policy-holder.ts';
import type { CompiledPolicy } from '../../server/policy/policy-types.ts';
import { policyPermissions } from '../../server/tokens/policy-permissions.ts';

function compile(raw: unknown): CompiledPolicy {
  const result = compilePolicy(raw);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.policy;
}

// `{sub}` of an empty subject is refused with a warning: each warning marks one evaluation.
const ridersOwnTheirRider = compile({ rules: [{ when: { claim: 'groups', includes: 'riders' }, grants: { london: { 'riders/{claims.team}': 'CRUD' } } }] });
const everyoneReads = compile({ everyone: { grants: { paris: { '*': 'R' } } } });

function holderOf(initial: CompiledPolicy): PolicyHolder & { policy: CompiledPolicy } {
  const holder = { policy: initial, current: () => holder.policy, reload: async () => true, close: () => undefined };
  return holder;
}

const rider = (idToken: string, team: unknown): SessionUser => ({ sub: 'alice', claims: { sub: 'alice', groups: ['riders'], team }, idToken, loginAt: 1 });

test('a session is evaluated once per policy version: later tokens reuse the answer', () => {
  const logger = createMemoryLogger();
  const permissionsFor = policyPermissions(holderOf(ridersOwnTheirRider), logger);
  const first = permissionsFor(rider('id-token-1', ''), 'sid-1');
  const second = permissionsFor(rider('id-token-1', ''), 'sid-1');
  assert.equal(second, first);
  assert.equal(logger.entries.filter((entry) => entry.event === 'policy_grant_refused').length, 1);
});

test('a new policy version is applied to a remembered session at its next token', () => {
  const holder = holderOf(ridersOwnTheirRider);
  const permissionsFor = policyPermissions(holder, createMemoryLogger());
  assert.deepEqual(permissionsFor(rider('id-token-1', 'blue'), 'sid-1').per, { london: { 'riders/blue': 'CRUD' } });
  holder.policy = everyoneReads;
  assert.deepEqual(permissionsFor(rider('id-token-1', 'blue'), 'sid-1').per, { paris: { '*': 'R' } });
});

test('a different login under a remembered session id is evaluated afresh', () => {
  const permissionsFor = policyPermissions(holderOf(ridersOwnTheirRider), createMemoryLogger());
  assert.deepEqual(permissionsFor(rider('id-token-1', 'blue'), 'sid-1').per, { london: { 'riders/blue': 'CRUD' } });
  assert.deepEqual(permissionsFor(rider('id-token-2', 'red'), 'sid-1').per, { london: { 'riders/red': 'CRUD' } });
});

test('sessions beyond the bound are forgotten least recently used first: a busy session stays remembered', () => {
  const logger = createMemoryLogger();
  const permissionsFor = policyPermissions(holderOf(ridersOwnTheirRider), logger, 2);
  const refusals = () => logger.entries.filter((entry) => entry.event === 'policy_grant_refused').length;
  permissionsFor(rider('a', ''), 'sid-a');
  permissionsFor(rider('b', ''), 'sid-b');
  permissionsFor(rider('a', ''), 'sid-a');
  permissionsFor(rider('c', ''), 'sid-c');
  assert.equal(refusals(), 3);
  permissionsFor(rider('a', ''), 'sid-a');
  permissionsFor(rider('c', ''), 'sid-c');
  assert.equal(refusals(), 3, 'the busy session a and the newest c were both remembered');
  permissionsFor(rider('b', ''), 'sid-b');
  assert.equal(refusals(), 4, 'b, used least recently, was forgotten and evaluated again');
});

test('the remembered answer cannot be changed by whoever receives it', () => {
  const permissionsFor = policyPermissions(holderOf(ridersOwnTheirRider), createMemoryLogger());
  const { per } = permissionsFor(rider('id-token-1', 'blue'), 'sid-1');
  assert.throws(() => { per.london!['riders/*'] = 'CRUD'; }, TypeError);
  assert.deepEqual(permissionsFor(rider('id-token-1', 'blue'), 'sid-1').per, { london: { 'riders/blue': 'CRUD' } });
});
