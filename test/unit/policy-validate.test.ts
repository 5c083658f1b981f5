import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, validatePolicy } from '../../server/policy/compile-policy.ts';
import { parsePolicyText } from '../../server/policy/load-policy-file.ts';

const rule = (extra: Record<string, unknown>) => ({ when: { claim: 'groups', includes: 'riders' }, ...extra });

// [behaviour, policy, [path, message fragment] of each expected problem]
const invalid: Array<[string, unknown, Array<[string, string]>]> = [
  ['a policy that is not an object is refused', [], [['(root)', 'must be a JSON object, not an array']]],
  ['an unknown top-level key is reported', { everyone: {}, rulez: [] }, [['rulez', 'unknown key; expected one of description, everyone, rules']]],
  ['an unknown key in a rule is reported', { rules: [rule({ grant: {} })] }, [['rules[0].grant', 'unknown key']]],
  ['rules that are not an array are reported', { rules: {} }, [['rules', 'must be an array of rules, not an object']]],
  ['a rule without when is refused', { rules: [{ grants: { london: { a: 'R' } } }] }, [['rules[0].when', 'is required']]],
  ['when on everyone is refused', { everyone: { when: { claim: 'g', equals: 'x' } } }, [['everyone.when', "put conditional grants in 'rules'"]]],
  ['an empty when list is refused', { rules: [rule({ when: [] })] }, [['rules[0].when', 'at least one condition']]],
  ['a condition of an unknown kind is refused', { rules: [rule({ when: { role: 'x' } })] }, [['rules[0].when', "must have 'claim'"]]],
  ['a claim condition with both operators is refused', { rules: [rule({ when: { claim: 'g', includes: 'a', equals: 'b' } })] }, [['rules[0].when', 'exactly one of']]],
  ['a claim condition with an empty value is refused', { rules: [rule({ when: [{ claim: 'g', equals: '' }] })] }, [['rules[0].when[0].equals', 'non-empty string']]],
  ['a non-string includes value is refused', { rules: [rule({ when: { claim: 'g', includes: 1 } })] }, [['rules[0].when.includes', 'not a number']]],
  ['a malformed email domain is refused', { rules: [rule({ when: { emailDomain: '@example.com' } })] }, [['rules[0].when.emailDomain', 'must be a domain name']]],
  ['a non-boolean allowMissingEmailVerified is refused', { rules: [rule({ when: { emailDomain: 'a.example', allowMissingEmailVerified: 'yes' } })] }, [['rules[0].when.allowMissingEmailVerified', 'true or false']]],
  ['letters outside C R U D are refused', { everyone: { grants: { london: { a: 'RW' } } } }, [['everyone.grants.london.a', 'letters from C R U D']]],
  ['lower-case letters are refused', { everyone: { grants: { london: { a: 'r' } } } }, [['everyone.grants.london.a', 'letters from C R U D']]],
  ['repeated letters are refused', { everyone: { grants: { london: { a: 'RR' } } } }, [['everyone.grants.london.a', 'each at most once']]],
  ['empty letters are refused', { everyone: { grants: { london: { a: '' } } } }, [['everyone.grants.london.a', 'letters from C R U D']]],
  ['letters that are not a string are refused', { everyone: { grants: { london: { a: ['R'] } } } }, [['everyone.grants.london.a', 'letters from C R U D']]],
  ['a realm id with a slash is refused', { everyone: { grants: { 'lon/don': { a: 'R' } } } }, [['everyone.grants["lon/don"]', 'is not a realm id']]],
  ['a realm id with a template is refused', { everyone: { grants: { '{sub}': { a: 'R' } } } }, [['everyone.grants["{sub}"]', 'is not a realm id']]],
  ['an empty realm id is refused', { everyone: { grants: { '': { a: 'R' } } } }, [['everyone.grants[""]', 'is not a realm id']]],
  ["a '*' realm in dpv is refused", { everyone: { dpv: { '*': ['a'] } } }, [['everyone.dpv["*"]', "not '*'"]]],
  ['a pattern with an empty segment is refused', { everyone: { grants: { london: { 'riders//x': 'R' } } } }, [['everyone.grants.london["riders//x"]', 'empty segment']]],
  ['a pattern with a trailing slash is refused', { everyone: { grants: { london: { 'riders/': 'R' } } } }, [['everyone.grants.london["riders/"]', 'empty segment']]],
  ["a '*' inside a segment is refused", { everyone: { grants: { london: { 'riders/a*': 'R' } } } }, [['everyone.grants.london["riders/a*"]', 'must be a whole segment']]],
  ["a '..' segment is refused", { everyone: { grants: { london: { 'riders/../x': 'R' } } } }, [['everyone.grants.london["riders/../x"]', "'..' segment"]]],
  ['a pattern with a space is refused', { everyone: { grants: { london: { 'rid ers': 'R' } } } }, [['everyone.grants.london["rid ers"]', 'contains " "']]],
  ["a '%' without two hex digits is refused", { everyone: { grants: { london: { 'a%zz': 'R' } } } }, [['everyone.grants.london["a%zz"]', "'%' at position 1"]]],
  ['a template naming an unknown variable is refused', { rules: [rule({ grants: { london: { 'riders/{subject}': 'R' } } })] }, [['rules[0].grants.london["riders/{subject}"]', 'unknown variable {subject}']]],
  ['an empty variable is refused', { rules: [rule({ grants: { london: { 'riders/{}': 'R' } } })] }, [['rules[0].grants.london["riders/{}"]', 'unknown variable {}']]],
  ['an unclosed brace is refused', { rules: [rule({ grants: { london: { 'riders/{sub': 'R' } } })] }, [['rules[0].grants.london["riders/{sub"]', "'{' at position 7 without a matching '}'"]]],
  ['a stray closing brace is refused', { rules: [rule({ grants: { london: { 'riders/sub}': 'R' } } })] }, [['rules[0].grants.london["riders/sub}"]', "'}' at position 10"]]],
  ["a '*' in a dpv id is refused", { rules: [rule({ dpv: { london: ['riders/*'] } })] }, [['rules[0].dpv.london[0]', "'*' is not allowed"]]],
  ['a dpv id that is not a string is refused', { rules: [rule({ dpv: { london: [7] } })] }, [['rules[0].dpv.london[0]', 'not a number']]],
  ['dpv ids that are not an array are refused', { rules: [rule({ dpv: { london: 'riders/{sub}' } })] }, [['rules[0].dpv.london', 'must be an array']]],
  ['a non-string description is refused', { description: 3, everyone: { grants: { london: { a: 'R' } } } }, [['description', 'must be a string']]],
];

for (const [name, policy, expected] of invalid) {
  test(`validatePolicy: ${name}`, () => {
    const { problems } = validatePolicy(policy);
    assert.equal(problems.length, expected.length, JSON.stringify(problems));
    expected.forEach(([path, fragment], index) => {
      assert.equal(problems[index]!.path, path);
      assert.ok(problems[index]!.message.includes(fragment), `${problems[index]!.message} should mention ${fragment}`);
    });
  });
}

test('validatePolicy reports every problem in the file at once, each at its own path', () => {
  const { problems } = validatePolicy({
    extra: true,
    everyone: { grants: { london: { 'riders/*': 'X' } } },
    rules: [
      { when: { claim: 'groups', includes: 'riders' }, grants: { london: { 'riders/{sub}': 'CRUD' } } },
      'not a rule',
      { when: { claim: 'groups', includes: 'riders' }, grants: { london: { 'riders/{user}': 'CRUDX' } }, dpv: { '*': ['x'] } },
    ],
  });
  assert.deepEqual(problems.map((problem) => problem.path), [
    'extra',
    'everyone.grants.london["riders/*"]',
    'rules[1]',
    'rules[2].grants.london["riders/{user}"]',
    'rules[2].grants.london["riders/{user}"]',
    'rules[2].dpv["*"]',
  ]);
});

test('a valid policy has neither problems nor warnings', () => {
  const result = validatePolicy({ everyone: { grants: { london: { 'riders/*': 'R' } } } });
  assert.deepEqual(result, { problems: [], warnings: [] });
});

test('a policy that cannot grant anything loads with a warning', () => {
  const result = compilePolicy({ rules: [] });
  assert.equal(result.ok, true);
  assert.deepEqual(result.warnings.map((warning) => warning.path), ['(root)']);
  assert.match(result.warnings[0]!.message, /grants nothing to anyone/);
});

test('a rule that grants nothing is a warning, not a problem', () => {
  const result = compilePolicy({ everyone: { grants: { london: { a: 'R' } } }, rules: [{ when: { claim: 'g', equals: 'x' } }] });
  assert.equal(result.ok, true);
  assert.deepEqual(result.warnings, [{ path: 'rules[0]', message: 'grants nothing' }]);
});

test('a rule whose grants are all invalid gets problems, not also a "grants nothing" warning', () => {
  const result = compilePolicy({ rules: [{ when: { claim: 'g', equals: 'x' }, grants: { london: { 'a/{user}': 'R' } } }] });
  assert.equal(result.ok, false);
  assert.deepEqual(result.warnings, []);
});

test("granting '*' in every realm to everyone is a warning", () => {
  const result = compilePolicy({ everyone: { grants: { '*': { '*': 'R' } } } });
  assert.equal(result.ok, true);
  assert.deepEqual(result.warnings.map((warning) => warning.path), ['everyone.grants["*"]["*"]']);
});

test('Auth0-style namespaced claim names are accepted in templates and conditions', () => {
  const result = compilePolicy({
    rules: [{
      when: { claim: 'https://app.example/roles', includes: 'admin' },
      grants: { london: { 'tenants/{claims.https://app.example/tenant}/*': 'R' } },
    }],
  });
  assert.equal(result.ok, true, JSON.stringify(!result.ok && result.problems));
});

const broken: Array<[string, string, string]> = [
  ['a stray comma', '{\n  "rules": [,]\n}', 'line 2, column 13: expected a value (found ",")'],
  ['a trailing comma in an object', '{"a": 1,\n}', 'line 2, column 1: expected a property name in double quotes (found "}")'],
  ['a missing colon', '{"a" 1}', "line 1, column 6: expected ':' after a property name"],
  ['a truncated file', '{"rules": [', 'line 1, column 12: expected a value, found the end of the file'],
  ['text after the value', '{} {}', 'line 1, column 4: expected the end of the file'],
  ['a raw newline inside a string', '{"a": "x\ny"}', 'line 1, column 7: expected a string'],
  ['a comment', '// policy\n{}', 'line 1, column 1: expected a value (found "/")'],
  ['an empty file', '', 'line 1, column 1: expected a value, found the end of the file'],
];

for (const [name, text, where] of broken) {
  test(`invalid JSON (${name}) is reported with the file name, line and column`, () => {
    const parsed = parsePolicyText(text, 'policy.json');
    assert.deepEqual(parsed.ok, false);
    assert.equal(parsed.problems.length, 1);
    assert.equal(parsed.problems[0]!.path, '(file)');
    assert.ok(parsed.problems[0]!.message.startsWith(`policy.json is not valid JSON: ${where}`), parsed.problems[0]!.message);
  });
}

test('a key repeated within one object is a problem at its path, found along with the rest', () => {
  const parsed = parsePolicyText('{"everyone": {"grants": {"london": {"a": "R"}, "london": {"b": "R"}}}, "rules": [{"when": 1, "when": 2}]}', 'p.json');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.problems.map((problem) => problem.path), ['everyone.grants.london', 'rules[0].when']);
  assert.match(parsed.problems[0]!.message, /duplicate key/);
});

test('the same key in different objects is not a duplicate', () => {
  const parsed = parsePolicyText('{"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 1}, {"x": 1}]}', 'p.json');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.problems, []);
});

test('every JSON value kind scans as valid', () => {
  const text = '{"s": "\\u00e9\\n\\"", "n": [-1.5e3, 0, 12], "t": true, "f": false, "z": null, "e": {}, "a": []}';
  const parsed = parsePolicyText(text, 'p.json');
  assert.ok(parsed.ok, JSON.stringify(parsed.problems));
  assert.deepEqual(parsed.value, JSON.parse(text));
});

test('a leading byte order mark does not make a policy invalid', () => {
  assert.equal(parsePolicyText('\uFEFF{}', 'policy.json').ok, true);
});
