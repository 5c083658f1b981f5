import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy } from '../../server/policy/compile-policy.ts';
import { evaluatePolicy, measurePermissionClaims } from '../../server/policy/evaluate-policy.ts';
import type { CompiledPolicy } from '../../server/policy/policy-types.ts';

function compile(raw: unknown): CompiledPolicy {
  const result = compilePolicy(raw);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.policy;
}

const policy = compile({
  everyone: { description: 'everyone sees riders', grants: { london: { 'riders/*': 'R' } } },
  rules: [
    {
      description: 'riders own their rider',
      when: { claim: 'groups', includes: 'riders' },
      grants: { london: { 'riders/{sub}': 'UC', 'riders/*': 'U' }, '*': { 'status/*': 'R' } },
      dpv: { london: ['riders/{sub}'] },
    },
    {
      when: { claim: 'groups', includes: 'owners' },
      grants: { london: { 'riders/{sub}': 'DR' } },
      dpv: { london: ['riders/{sub}', 'fleet/depot'] },
    },
    { when: { claim: 'tenant', equals: 'acme' }, grants: { paris: { 'tenants/{claims.tenant}/*': 'R' } } },
    { when: [{ claim: 'groups', includes: 'teams' }], grants: { paris: { 'teams/{claims.team}/*': 'CR' } } },
    { when: { emailDomain: 'partner.example' }, grants: { london: { 'partners/*': 'R' } } },
    { when: { emailDomain: 'loose.example', allowMissingEmailVerified: true }, grants: { london: { 'loose/*': 'R' } } },
    { when: { emailDomain: 'kiosk.example' }, grants: { london: { 'kiosk/*': 'R' } } },
  ],
});

test('grants from several rules unite letters per pattern in the order C R U D', () => {
  const result = evaluatePolicy(policy, { sub: 'alice', groups: ['owners', 'riders'] });
  assert.deepEqual(result.per, {
    '*': { 'status/*': 'R' },
    london: { 'riders/*': 'RU', 'riders/alice': 'CRUD' },
  });
});

test('dpv ids from several rules are sorted and never repeated', () => {
  const result = evaluatePolicy(policy, { sub: 'alice', groups: ['riders', 'owners'] });
  assert.deepEqual(result.dpv, { london: ['fleet/depot', 'riders/alice'] });
});

test("a '*' realm is kept as its own key and keys come out sorted", () => {
  const result = evaluatePolicy(policy, { sub: 'zed', groups: ['riders'], tenant: 'acme' });
  assert.deepEqual(Object.keys(result.per), ['*', 'london', 'paris']);
  assert.deepEqual(Object.keys(result.per['london']!), ['riders/*', 'riders/zed']);
});

test('grants name the rule behind each entry, once per contributing rule', () => {
  const result = evaluatePolicy(policy, { sub: 'alice', groups: ['riders', 'owners'] });
  const forAlice = result.grants.filter((grant) => grant.id === 'riders/alice');
  assert.deepEqual(forAlice.map((grant) => [grant.claim, grant.rule, grant.letters, grant.template]), [
    ['per', 'rules[0]', 'CU', 'riders/{sub}'],
    ['dpv', 'rules[0]', undefined, 'riders/{sub}'],
    ['per', 'rules[1]', 'RD', 'riders/{sub}'],
    ['dpv', 'rules[1]', undefined, 'riders/{sub}'],
  ]);
  assert.equal(result.grants[0]!.description, 'everyone sees riders');
});

test('claims that match no rule get an empty per and dpv', () => {
  const empty = compile({ rules: [{ when: { claim: 'groups', includes: 'admins' }, grants: { london: { '*': 'CRUD' } } }] });
  assert.deepEqual(evaluatePolicy(empty, { sub: 'alice', groups: ['riders'] }), { per: {}, dpv: {}, grants: [], refused: [] });
});

test('each evaluation returns fresh objects, so a caller cannot alter the next result', () => {
  const first = evaluatePolicy(policy, { sub: 'alice', groups: ['riders'] });
  first.per['london']!['riders/*'] = 'CRUD';
  first.dpv['london']!.push('riders/bob');
  const second = evaluatePolicy(policy, { sub: 'alice', groups: ['riders'] });
  assert.equal(second.per['london']!['riders/*'], 'RU');
  assert.deepEqual(second.dpv['london'], ['riders/alice']);
});

const ONE_SEGMENT = /^riders\/(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+$/;

// [behaviour, sub, the rider id it yields, or the reason it is refused]
const hostileSubjects: Array<[string, unknown, { id: string } | { refused: string }]> = [
  ["a subject '*' does not become a wildcard", '*', { id: 'riders/%2A' }],
  ["a subject containing '/' stays one literal segment", 'alice/*', { id: 'riders/alice%2F%2A' }],
  ["a subject '../admin' cannot climb to another segment", '../admin', { id: 'riders/..%2Fadmin' }],
  ["a subject '..' is refused rather than made a dot segment", '..', { refused: "the inserted claims would make the segment '..'" }],
  ["a subject '.' is refused rather than made a dot segment", '.', { refused: "the inserted claims would make the segment '.'" }],
  ["a subject with '%' cannot forge an escape", '%2A', { id: 'riders/%252A' }],
  ['a subject that looks like a template stays literal', '{sub}', { id: 'riders/%7Bsub%7D' }],
  ['a subject with whitespace is encoded', ' alice', { id: 'riders/%20alice' }],
  ['a subject with control characters is encoded', 'alice\n\u0000', { id: 'riders/alice%0A%00' }],
  ['a subject naming a realm stays an id in the policy realm', 'paris', { id: 'riders/paris' }],
  ['an Auth0 subject is encoded', 'auth0|64f1', { id: 'riders/auth0%7C64f1' }],
  ['an empty subject is refused', '', { refused: 'claim "sub" is an empty string' }],
  ['a very long subject is refused', 'a'.repeat(10_000), { refused: 'claim "sub" is longer than 255 characters' }],
  ['a numeric subject is refused', 42, { refused: 'claim "sub" is not a string' }],
  ['an array subject is refused', ['alice', 'bob'], { refused: 'claim "sub" is not a string' }],
  ['an object subject is refused', { toString: () => '*' }, { refused: 'claim "sub" is not a string' }],
  ['a null subject is refused', null, { refused: 'claim "sub" is missing' }],
  ['a missing subject is refused', undefined, { refused: 'claim "sub" is missing' }],
  ['a subject with a lone surrogate is refused', 'al\uDC00ice', { refused: 'claim "sub" is not well-formed Unicode (lone surrogate)' }],
];

for (const [name, sub, expected] of hostileSubjects) {
  test(`hostile subject: ${name}`, () => {
    const claims: Record<string, unknown> = { groups: ['riders'] };
    if (sub !== undefined) claims['sub'] = sub;
    const result = evaluatePolicy(policy, claims);
    const london = result.per['london']!;
    assert.deepEqual(Object.keys(result.per), ['*', 'london'], 'no realm may appear from a claim');
    assert.equal(london['riders/*'], 'RU', 'the wildcard pattern keeps exactly the letters the policy gives it');
    const own = Object.keys(london).filter((pattern) => pattern !== 'riders/*');
    if ('id' in expected) {
      assert.deepEqual(own, [expected.id]);
      assert.match(expected.id, ONE_SEGMENT);
      assert.equal(london[expected.id], 'CU');
      assert.deepEqual(result.dpv, { london: [expected.id] });
      assert.deepEqual(result.refused, []);
    } else {
      assert.deepEqual(own, [], 'a refused grant is dropped, never widened');
      assert.deepEqual(result.dpv, {});
      assert.deepEqual(result.refused.map((r) => [r.claim, r.rule, r.template, r.reason]), [
        ['per', 'rules[0]', 'riders/{sub}', expected.refused],
        ['dpv', 'rules[0]', 'riders/{sub}', expected.refused],
      ]);
      assert.deepEqual(result.per['*'], { 'status/*': 'R' }, "the rule's grants without the claim still apply");
    }
  });
}

test('a refusal explains the reason without repeating the hostile value', () => {
  const secret = `x${'y'.repeat(300)}`;
  const result = evaluatePolicy(policy, { sub: secret, groups: ['riders'] });
  assert.equal(result.refused.length, 2);
  assert.ok(!JSON.stringify(result).includes(secret));
});

test('a hostile value in another claim stays one literal segment too', () => {
  const result = evaluatePolicy(policy, { sub: 'a', groups: ['teams'], team: '*/../../london' });
  assert.deepEqual(result.per['paris'], { 'teams/%2A%2F..%2F..%2Flondon/*': 'CR' });
});

test("two inserted values that together make '..' are refused", () => {
  const joined = compile({ everyone: { grants: { london: { 'x/{sub}{claims.b}': 'R' } } } });
  const result = evaluatePolicy(joined, { sub: '.', b: '.' });
  assert.deepEqual(result.per, {});
  assert.equal(result.refused[0]!.reason, "the inserted claims would make the segment '..'");
});

test("a subject '__proto__' becomes an ordinary key, not an object's prototype", () => {
  const bare = compile({ everyone: { grants: { london: { '{sub}': 'R' } }, dpv: { london: ['{sub}'] } } });
  const result = evaluatePolicy(bare, { sub: '__proto__' });
  const london = result.per['london']!;
  assert.equal(Object.getPrototypeOf(london), Object.prototype);
  assert.deepEqual(Object.keys(london), ['__proto__']);
  assert.equal(JSON.stringify(result.per), '{"london":{"__proto__":"R"}}');
});

test('claims inherited from a prototype are ignored', () => {
  const claims = Object.create({ sub: 'alice', groups: ['riders'], tenant: 'acme' }) as Record<string, unknown>;
  assert.deepEqual(evaluatePolicy(policy, claims).per, { london: { 'riders/*': 'R' } });
});

test('a template never reads a claim inherited from a prototype', () => {
  const claims = Object.assign(Object.create({ sub: 'alice' }) as Record<string, unknown>, { groups: ['riders'] });
  const result = evaluatePolicy(policy, claims);
  assert.deepEqual(result.dpv, {});
  assert.equal(result.refused[0]!.reason, 'claim "sub" is missing');
});

// [behaviour, claims, whether the riders or tenant rule applies]
const conditions: Array<[string, Record<string, unknown>, string[]]> = [
  ['includes matches a member of an array claim', { groups: ['x', 'riders'] }, ['riders']],
  ['includes does not match a string claim equal to the value', { groups: 'riders' }, []],
  ['includes does not match by prefix', { groups: ['riders-x'] }, []],
  ['includes is case-sensitive', { groups: ['Riders'] }, []],
  ['includes does not match a nested array', { groups: [['riders']] }, []],
  ['equals matches a string claim', { tenant: 'acme' }, ['tenant']],
  ['equals does not match an array holding the value', { tenant: ['acme'] }, []],
  ['equals is case-sensitive', { tenant: 'ACME' }, []],
];

for (const [name, extra, expected] of conditions) {
  test(`condition: ${name}`, () => {
    const per = evaluatePolicy(policy, { sub: 's', ...extra }).per;
    assert.deepEqual([per['london']?.['riders/s'] && 'riders', per['paris'] && 'tenant'].filter(Boolean), expected);
  });
}

// [behaviour, email claims, patterns granted beyond everyone's]
const emails: Array<[string, Record<string, unknown>, string[]]> = [
  ['a verified email at the domain matches', { email: 'carol@partner.example', email_verified: true }, ['partners/*']],
  ['the domain is compared without ASCII case', { email: 'carol@Partner.EXAMPLE', email_verified: true }, ['partners/*']],
  ['a missing email_verified does not match by default', { email: 'carol@partner.example' }, []],
  ['email_verified false never matches', { email: 'carol@partner.example', email_verified: false }, []],
  ['email_verified "true" as a string does not match', { email: 'carol@partner.example', email_verified: 'true' }, []],
  ['allowMissingEmailVerified accepts a missing email_verified', { email: 'x@loose.example' }, ['loose/*']],
  ['allowMissingEmailVerified still refuses email_verified false', { email: 'x@loose.example', email_verified: false }, []],
  ['a subdomain does not match', { email: 'carol@eu.partner.example', email_verified: true }, []],
  ['a longer domain ending the same does not match', { email: 'carol@xpartner.example', email_verified: true }, []],
  ['the domain as a local part does not match', { email: 'partner.example@evil.example', email_verified: true }, []],
  ['the domain followed by more does not match', { email: 'c@partner.example.evil.example', email_verified: true }, []],
  ['the domain is what follows the last @', { email: '"c@evil.example"@partner.example', email_verified: true }, ['partners/*']],
  ['an empty local part does not match', { email: '@partner.example', email_verified: true }, []],
  ['trailing whitespace does not match', { email: 'carol@partner.example ', email_verified: true }, []],
  ['a Unicode letter that lower-cases to ASCII does not match', { email: 'x@\u212Aiosk.example', email_verified: true }, []],
  ['the ASCII form of that domain matches', { email: 'x@KIOSK.example', email_verified: true }, ['kiosk/*']],
  ['a non-string email does not match', { email: ['carol@partner.example'], email_verified: true }, []],
];

for (const [name, claims, expected] of emails) {
  test(`email domain: ${name}`, () => {
    const london = evaluatePolicy(policy, { sub: 's', ...claims }).per['london']!;
    assert.deepEqual(Object.keys(london).filter((pattern) => pattern !== 'riders/*'), expected);
  });
}

test('measurePermissionClaims gives the UTF-8 size of per and dpv as JSON', () => {
  assert.equal(measurePermissionClaims({}, {}), '{"per":{},"dpv":{}}'.length);
  const result = evaluatePolicy(policy, { sub: 'alice', groups: ['riders'] });
  assert.equal(measurePermissionClaims(result.per, result.dpv), JSON.stringify({ per: result.per, dpv: result.dpv }).length);
});
