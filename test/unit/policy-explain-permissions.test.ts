import assert from 'node:assert/strict';
import { test } from 'node:test';
import example from '../../policy.example.json' with { type: 'json' };
import { compilePolicy } from '../../server/policy/compile-policy.ts';
import { evaluatePolicy } from '../../server/policy/evaluate-policy.ts';
import { explainPermissions } from '../../server/policy/explain-permissions.ts';
import type { CompiledPolicy } from '../../server/policy/policy-types.ts';

const compiled = compilePolicy(example);
assert.ok(compiled.ok);
const policy: CompiledPolicy = compiled.policy;

const alice = { sub: 'alice', name: 'Alice Example', groups: ['dispatchers', 'riders'], email: 'alice@example.com', email_verified: true };
const carol = { sub: 'carol', groups: ['viewers'], email: 'carol@partner.example', email_verified: true };

test('alice: riders/* is explained by both rules that granted it, each with its own letters and description', () => {
  const explanation = explainPermissions(policy, alice);
  const riders = explanation.per.find((entry) => entry.realm === 'london' && entry.pattern === 'riders/*');
  assert.deepEqual(riders, {
    realm: 'london', pattern: 'riders/*', letters: 'RU',
    grantedBy: [
      { rule: 'everyone', description: 'Every signed-in user sees the riders on the map.', letters: 'R' },
      { rule: 'rules[1]', description: 'Dispatchers manage every delivery, reassign riders and read service status in every realm.', letters: 'U' },
    ],
  });
});

test('every entry of the token\'s per and dpv is explained by at least one rule, for each demo user', () => {
  for (const claims of [alice, carol, { sub: 'bob', groups: ['riders'], email: 'bob@example.com', email_verified: true }]) {
    const { per, dpv } = evaluatePolicy(policy, claims);
    const explanation = explainPermissions(policy, claims);
    const perEntries = Object.entries(per).flatMap(([realm, patterns]) => Object.entries(patterns).map(([pattern, letters]) => ({ realm, pattern, letters })));
    assert.deepEqual(explanation.per.map(({ realm, pattern, letters }) => ({ realm, pattern, letters })), perEntries);
    assert.deepEqual(explanation.dpv.map(({ realm, id }) => [realm, id]), Object.entries(dpv).flatMap(([realm, ids]) => ids.map((id) => [realm, id])));
    for (const entry of [...explanation.per, ...explanation.dpv]) assert.ok(entry.grantedBy.length > 0, JSON.stringify(entry));
  }
});

test('the claims shown are those the policy reads, not the others (name is not read by any rule)', () => {
  const explanation = explainPermissions(policy, alice);
  assert.deepEqual(explanation.claims, [
    { name: 'groups', value: ['dispatchers', 'riders'] },
    { name: 'email', value: 'alice@example.com' },
    { name: 'email_verified', value: true },
    { name: 'sub', value: 'alice' },
  ]);
});

test('each rule says whether it applies and which of its conditions hold', () => {
  const explanation = explainPermissions(policy, carol);
  assert.deepEqual(explanation.rules.map(({ rule, applies }) => [rule, applies]), [
    ['everyone', true], ['rules[0]', false], ['rules[1]', false], ['rules[2]', true], ['rules[3]', true],
  ]);
  assert.deepEqual(explanation.rules[4]!.conditions, [{ description: 'email domain is partner.example and email_verified is true', holds: true }]);
  assert.deepEqual(explanation.rules[1]!.conditions, [{ description: 'groups includes "riders"', holds: false }]);
});
