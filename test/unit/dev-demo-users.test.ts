import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import shipped from '../../server/dev/demo-users.json' with { type: 'json' };
import { loadDemoUsers, parseDemoUsers } from '../../server/dev/load-demo-users.ts';
import type { DemoUser } from '../../server/dev/load-demo-users.ts';
import { verifyDemoCredentials } from '../../server/dev/verify-demo-credentials.ts';

const FILE = '/dev/demo-users.json';
const alice = { username: 'alice', password: 'pw', name: 'Alice Example', email: 'alice@example.com', email_verified: true, groups: ['riders'] };
const parse = (document: unknown) => parseDemoUsers(JSON.stringify(document), FILE);

test('the shipped demo users are alice, bob and carol with different groups', () => {
  const users = parse(shipped);
  const byName = Object.fromEntries(users.map((user) => [user.username, user]));
  assert.deepEqual(Object.keys(byName), ['alice', 'bob', 'carol']);
  assert.deepEqual(byName.alice, { ...byName.alice, name: 'Alice Example', email: 'alice@example.com', email_verified: true, groups: ['dispatchers', 'riders'] });
  assert.deepEqual(byName.bob, { ...byName.bob, name: 'Bob Example', email: 'bob@example.com', groups: ['riders'] });
  assert.deepEqual(byName.carol, { ...byName.carol, name: 'Carol Partner', email: 'carol@partner.example', groups: ['viewers'] });
  for (const user of users) assert.ok(user.password.length > 0);
});

test('email_verified defaults to false and groups may be empty', () => {
  const { email_verified: _, ...withoutVerified } = alice;
  assert.deepEqual(parse({ users: [{ ...withoutVerified, groups: [] }] }), [{ ...alice, email_verified: false, groups: [] }]);
});

const invalid: Array<[string, unknown, RegExp]> = [
  ['not JSON', undefined, /not valid JSON/],
  ['no users array', { people: [] }, /non-empty "users" array/],
  ['an empty users array', { users: [] }, /non-empty "users" array/],
  ['a user that is not an object', { users: ['alice'] }, /users\[0\] must be an object/],
  ['a missing password', { users: [{ ...alice, password: undefined }] }, /users\[0\]\.password must be a non-empty string/],
  ['a username with a space', { users: [{ ...alice, username: 'al ice' }] }, /users\[0\]\.username must be/],
  ['groups that are not strings', { users: [{ ...alice, groups: ['riders', 7] }] }, /users\[0\]\.groups must be an array of non-empty strings/],
  ['a group listed twice', { users: [{ ...alice, groups: ['riders', 'riders'] }] }, /groups lists a group twice/],
  ['a non-boolean email_verified', { users: [{ ...alice, email_verified: 'yes' }] }, /email_verified must be true or false/],
  ['an email without @', { users: [{ ...alice, email: 'alice' }] }, /email must be an e-mail address/],
  ['a terminal escape in a name', { users: [{ ...alice, name: 'Alice\u001b[2J' }] }, /name must be a non-empty string/],
  ['a misspelt field', { users: [{ ...alice, grups: [] }] }, /unknown field "grups"/],
  ['a username used twice', { users: [alice, { ...alice }] }, /users\[1\]\.username "alice" is used twice/],
];

for (const [problem, document, message] of invalid) {
  test(`a demo users file with ${problem} is refused with an error naming the file`, () => {
    const text = document === undefined ? '{ users: [' : JSON.stringify(document);
    assert.throws(() => parseDemoUsers(text, FILE), (error: Error) => {
      assert.match(error.message, /^Invalid demo users file \/dev\/demo-users\.json: /);
      assert.match(error.message, message);
      return true;
    });
  });
}

test('every problem of a bad demo users file is reported at once', () => {
  assert.throws(() => parse({ users: [{ ...alice, password: '' }, { ...alice, username: 'bob', email: 'x' }] }), (error: Error) => {
    assert.match(error.message, /users\[0\]\.password/);
    assert.match(error.message, /users\[1\]\.email/);
    return true;
  });
});

test('loadDemoUsers names a file it cannot read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'demo-users-'));
  try {
    await assert.rejects(loadDemoUsers(join(dir, 'missing.json')), /Cannot read demo users file .*missing\.json/);
    await writeFile(join(dir, 'users.json'), JSON.stringify({ users: [alice] }));
    assert.deepEqual(await loadDemoUsers(join(dir, 'users.json')), [alice]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const users: DemoUser[] = [alice, { ...alice, username: 'bob', password: 'bob-pw' }];

test('verifyDemoCredentials accepts the right password and refuses a wrong one or an unknown user', () => {
  assert.equal(verifyDemoCredentials(users, 'bob', 'bob-pw')?.username, 'bob');
  assert.equal(verifyDemoCredentials(users, 'bob', 'pw'), undefined);
  assert.equal(verifyDemoCredentials(users, 'bob', 'bob-pw '), undefined);
  assert.equal(verifyDemoCredentials(users, 'bob', ''), undefined);
  assert.equal(verifyDemoCredentials(users, 'mallory', 'bob-pw'), undefined);
  assert.equal(verifyDemoCredentials(users, 'mallory', '\u0000no such user'), undefined);
});
