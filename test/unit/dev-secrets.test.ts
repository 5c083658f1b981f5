import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEV_SECRETS_FILE, ensureDevSecrets, type DevSecrets } from '../../server/dev/dev-secrets.ts';

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

type RacerAnswer = { secrets: DevSecrets & { created: boolean } } | { error: string };

/** A separate Node process running test/support/dev-secrets-racer.ts, asked one data folder at a time. */
async function startRacer() {
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/dev-secrets-racer.ts'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`racer ${child.pid} exited with ${child.exitCode}`);
    return line.value;
  };
  assert.equal(await nextLine(), 'ready');
  return {
    ensure: async (dataDir: string): Promise<RacerAnswer> => {
      child.stdin.write(`${dataDir}\n`);
      return JSON.parse(await nextLine()) as RacerAnswer;
    },
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    }),
  };
}

// Each round is a fresh folder handed to both processes at once: the window between one's read
// and its write is short, so one round alone would often not be a race at all.
const RACE_ROUNDS = 20;

test('two processes racing to create the secrets in one folder agree on them, exactly one creates, and the file is valid', async () => {
  const racers = await Promise.all([startRacer(), startRacer()]);
  try {
    for (let round = 0; round < RACE_ROUNDS; round += 1) {
      const dataDir = freshDir();
      const answers = await Promise.all(racers.map((racer) => racer.ensure(dataDir)));
      const [one, two] = answers.map((answer) => {
        assert.ok('secrets' in answer, `round ${round}: ${JSON.stringify(answer)}`);
        return answer.secrets;
      });
      const { created: oneCreated, ...oneSecrets } = one!;
      const { created: twoCreated, ...twoSecrets } = two!;
      assert.deepEqual(twoSecrets, oneSecrets, `round ${round}: the two processes hold different secrets`);
      assert.deepEqual([oneCreated, twoCreated].sort(), [false, true], `round ${round}: created ${oneCreated} and ${twoCreated}`);
      const file = join(dataDir, DEV_SECRETS_FILE);
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), oneSecrets, `round ${round}: the file holds other secrets`);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(dataDir), [DEV_SECRETS_FILE], `round ${round}: a temp file is left behind`);
    }
  } finally {
    await Promise.all(racers.map((racer) => racer.stop()));
  }
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
