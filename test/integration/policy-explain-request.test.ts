import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/policy.ts', ...args], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, PERMISSIONS_FILE: '' },
  }).then(({ stdout }) => ({ code: 0, stdout, stderr: '' }), (error: { code: number; stdout: string; stderr: string }) => error);

const BOB = '{"sub":"bob","groups":["riders"]}';

test('policy explain --request shows the downscoped per and dpv and why each asked-for entry was dropped', async () => {
  const { code, stdout } = await cli(['explain', '--file', 'policy.example.json', '--claims', BOB,
    '--request', 'realm=london&per={"london":{"riders/*":"R","deliveries/bob/7":"RUD"},"paris":{"x":"R"}}']);
  assert.equal(code, 0);
  assert.match(stdout, /With the request realm=london per=\{"london"/);
  assert.match(stdout, /"deliveries\/bob\/7": "RU"/);
  assert.match(stdout, /london deliveries\/bob\/7 D: not_granted/);
  assert.match(stdout, /paris x R: realm_not_requested/);
});

test('policy explain --request --json carries the downscoped result next to the full one', async () => {
  const { code, stdout } = await cli(['explain', '--file', 'policy.example.json', '--claims', BOB, '--request', 'realm=paris', '--json']);
  assert.equal(code, 0);
  const out = JSON.parse(stdout) as { per: object; downscoped: { per: object; dropped: unknown[]; strict: boolean } };
  assert.deepEqual(out.downscoped.per, {});
  assert.deepEqual(out.downscoped.dropped, [{ realm: 'paris', reason: 'realm_not_granted' }]);
  assert.ok(Object.keys(out.per).length > 0);
});

test('policy explain --request with strict mode says the token would be refused', async () => {
  const { stdout } = await cli(['explain', '--file', 'policy.example.json', '--claims', BOB, '--request', 'strict=true&per={"london":{"riders/*":"U"}}']);
  assert.match(stdout, /refused \(strict mode\): 403 scope_not_granted/);
});

test('policy explain --request refuses a malformed request with exit 2', async () => {
  const { code, stderr } = await cli(['explain', '--file', 'policy.example.json', '--claims', BOB, '--request', 'realm=..']);
  assert.equal(code, 2);
  assert.match(stderr, /--request: realm "\.\." is not a realm id/);
});
