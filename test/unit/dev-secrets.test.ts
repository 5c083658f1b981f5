import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEV_SECRETS_FILE, ensureDevSecrets } from '../../server/dev/dev-secrets.ts';

const root = await mkdtemp(join(tmpdir(), 'dev-secrets-'));
after(() => rm(root, { recursive: true, force: true }));
let count = 0;
const freshDir = () => join(root, `data-${(count += 1)}`);

test('the first run creates the data folder (0700) and a 0600 secrets file with strong secrets', async () => {
  const dataDir = freshDir();
  const secrets = await ensureDevSecrets(dataDir);

  assert.equal(secrets.created, true);
  assert.equal(Buffer.from(secrets.hivekitSecret, 'base64').length, 32);
  assert.match(secrets.hivekitSecret, /^[A-Za-z0-9+/]+={0,2}$/);
  assert.ok(secrets.sessionSecret.length >= 32);
  assert.ok(secrets.oidcClientSecret.length >= 32);
  assert.ok(secrets.hivekitSecretId.length > 0);
  assert.ok(secrets.hivekitTenantId.length > 0);
  assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dataDir, DEV_SECRETS_FILE))).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dataDir), [DEV_SECRETS_FILE], 'no temp file is left behind');
});

test('later runs reuse the same secrets', async () => {
  const dataDir = freshDir();
  const first = await ensureDevSecrets(dataDir);
  const second = await ensureDevSecrets(dataDir);
  assert.equal(second.created, false);
  assert.deepEqual({ ...second, created: true }, first);
});

test('two processes starting together end up with the same secrets', async () => {
  const dataDir = freshDir();
  const [one, two] = await Promise.all([ensureDevSecrets(dataDir), ensureDevSecrets(dataDir)]);
  assert.equal(one.hivekitSecret, two.hivekitSecret);
  assert.equal(one.sessionSecret, two.sessionSecret);
  assert.deepEqual(await readdir(dataDir), [DEV_SECRETS_FILE]);
});

const corrupt: Array<[string, string]> = [
  ['is not JSON', '{"hivekitSecret": '],
  ['misses a secret', JSON.stringify({ hivekitSecret: Buffer.alloc(32).toString('base64') })],
  ['holds a short Hivekit secret', JSON.stringify({
    hivekitSecret: Buffer.alloc(8).toString('base64'), hivekitSecretId: 'k', hivekitTenantId: 't', sessionSecret: 'x'.repeat(32), oidcClientSecret: 'c',
  })],
];

for (const [problem, content] of corrupt) {
  test(`a secrets file that ${problem} is an error saying which file to delete, and is left alone`, async () => {
    const dataDir = freshDir();
    await ensureDevSecrets(dataDir);
    const file = join(dataDir, DEV_SECRETS_FILE);
    await writeFile(file, content);
    await assert.rejects(ensureDevSecrets(dataDir), (error: Error) => {
      assert.ok(error.message.includes(`Dev secrets file ${file} is unreadable`), error.message);
      assert.match(error.message, /Delete it to generate new dev secrets/);
      return true;
    });
    await assert.rejects(ensureDevSecrets(dataDir), /unreadable/, 'not silently regenerated');
  });
}

test('a data folder that cannot be created is one clear line naming it', async () => {
  const blocker = join(root, 'a-file');
  await writeFile(blocker, '');
  const dataDir = join(blocker, 'data');
  await assert.rejects(ensureDevSecrets(dataDir), (error: Error) => {
    assert.ok(error.message.startsWith(`Cannot store dev secrets in ${dataDir}: `), error.message);
    assert.equal(error.message.includes('\n'), false);
    return true;
  });
});
