import assert from 'node:assert/strict';
import { test } from 'node:test';
import example from '../../policy.example.json' with { type: 'json' };
import { compilePolicy } from '../../server/policy/compile-policy.ts';
import { evaluatePolicy } from '../../server/policy/evaluate-policy.ts';

// The dev-mode demo users; email_verified is what a real provider asserts for a checked address.
const alice = { sub: 'alice', groups: ['dispatchers', 'riders'], email: 'alice@example.com', email_verified: true };
const bob = { sub: 'bob', groups: ['riders'], email: 'bob@example.com', email_verified: true };
const carol = { sub: 'carol', groups: ['viewers'], email: 'carol@partner.example', email_verified: true };

const compiled = compilePolicy(example);

test('policy.example.json is valid and has no warnings', () => {
  assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.problems));
  assert.deepEqual(compiled.warnings, []);
});

const expected: Array<[string, Record<string, unknown>, unknown]> = [
  ['alice, a dispatcher and rider, runs deliveries and publishes her own rider', alice, {
    per: {
      '*': { 'status/*': 'R' },
      london: { 'deliveries/*': 'CRUD', 'deliveries/alice/*': 'RU', 'riders/*': 'RU', 'riders/alice': 'CRUD' },
    },
    dpv: { london: ['riders/alice'] },
  }],
  ['bob, a rider, publishes his own rider and sees the others', bob, {
    per: { london: { 'deliveries/bob/*': 'RU', 'riders/*': 'R', 'riders/bob': 'CRUD' } },
    dpv: { london: ['riders/bob'] },
  }],
  ['carol, a partner viewer, follows deliveries and her company orders', carol, {
    per: { london: { 'deliveries/*/status': 'R', 'partners/partner.example/*': 'CR', 'riders/*': 'R' } },
    dpv: {},
  }],
  ['a signed-in user in no group only sees the riders', { sub: 'dave' }, {
    per: { london: { 'riders/*': 'R' } },
    dpv: {},
  }],
];

for (const [name, claims, permissions] of expected) {
  test(`example policy: ${name}`, () => {
    assert.ok(compiled.ok);
    const { per, dpv } = evaluatePolicy(compiled.policy, claims);
    assert.deepEqual({ per, dpv }, permissions);
  });
}
