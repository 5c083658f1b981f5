import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { createPolicyHolder, PolicyLoadError } from '../../server/policy/create-policy-holder.ts';
import type { PolicyHolder } from '../../server/policy/create-policy-holder.ts';
import { evaluatePolicy } from '../../server/policy/evaluate-policy.ts';

const run = promisify(execFile);
const grantsRead = (pattern: string) => JSON.stringify({ everyone: { grants: { london: { [pattern]: 'R' } } } });
const invalid = JSON.stringify({ everyone: { grants: { london: { 'riders/*': 'X' } } }, rules: [{ grants: {} }] });

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-reload-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function holderFor(name: string, text: string, watch = false) {
  const path = join(dir, name);
  await writeFile(path, text);
  const logger = createMemoryLogger();
  const holder = await createPolicyHolder({ path, logger, watch, debounceMs: 20 });
  return { path, logger, holder };
}

async function waitFor(check: () => boolean, what: string, limitMs = 5000): Promise<void> {
  for (let waited = 0; waited < limitMs; waited += 20) {
    if (check()) return;
    await sleep(20);
  }
  assert.fail(`timed out after ${limitMs} ms waiting for ${what}`);
}

/** Calls `write` every `intervalMs` until the returned function is called. */
function repeatEvery(intervalMs: number, write: () => Promise<unknown>): () => void {
  const interval = setInterval(() => void write().catch(() => undefined), intervalMs);
  return () => clearInterval(interval);
}

const londonPatterns = (holder: PolicyHolder) => Object.keys(evaluatePolicy(holder.current(), { sub: 'a' }).per['london'] ?? {});

test('the holder loads the policy as version 1 and logs it', async () => {
  const { holder, logger } = await holderFor('first.json', grantsRead('riders/*'));
  assert.equal(holder.current().version, 1);
  assert.deepEqual(londonPatterns(holder), ['riders/*']);
  assert.deepEqual(logger.entries.map((entry) => entry.event), ['policy_loaded']);
  holder.close();
});

test('an invalid policy at startup throws one error listing every problem', async () => {
  const rejection = holderFor('invalid-start.json', invalid);
  await assert.rejects(rejection, (error: unknown) => {
    assert.ok(error instanceof PolicyLoadError);
    assert.deepEqual(error.problems.map((problem) => problem.path), ['everyone.grants.london["riders/*"]', 'rules[0].when']);
    assert.match(error.message, /invalid-start\.json is invalid:\n {2}everyone\.grants/);
    return true;
  });
});

test('a repeated key is reported together with the other problems in the file', async () => {
  const text = '{"everyone": {"grants": {"london": {"a": "R"}, "london": {"b": "RW"}}}}';
  await assert.rejects(holderFor('duplicate.json', text), (error: unknown) => {
    assert.ok(error instanceof PolicyLoadError);
    assert.deepEqual(error.problems.map((problem) => problem.path), ['everyone.grants.london', 'everyone.grants.london.b']);
    return true;
  });
});

test('a missing policy file at startup throws and names the file', async () => {
  await assert.rejects(
    createPolicyHolder({ path: join(dir, 'absent.json'), logger: createMemoryLogger(), watch: false }),
    /cannot read .*absent\.json: ENOENT/,
  );
});

test('reload() installs a valid edit as the next version', async () => {
  const { path, holder, logger } = await holderFor('edit.json', grantsRead('riders/*'));
  await writeFile(path, grantsRead('cars/*'));
  assert.equal(await holder.reload(), true);
  assert.equal(holder.current().version, 2);
  assert.deepEqual(londonPatterns(holder), ['cars/*']);
  assert.deepEqual(logger.entries.at(-1)?.event, 'policy_reloaded');
  holder.close();
});

test('reload() keeps the old policy when the new one is invalid, and logs why', async () => {
  const { path, holder, logger } = await holderFor('reject.json', grantsRead('riders/*'));
  const before = holder.current();
  await writeFile(path, invalid);
  assert.equal(await holder.reload(), false);
  assert.equal(holder.current(), before);
  const entry = logger.entries.at(-1)!;
  assert.equal(entry.level, 'warn');
  assert.equal(entry.event, 'policy_reload_rejected');
  assert.equal((entry.fields['problems'] as unknown[]).length, 2);
  holder.close();
});

test('reload() keeps the old policy when the file is not JSON or has gone', async () => {
  const { path, holder } = await holderFor('broken.json', grantsRead('riders/*'));
  await writeFile(path, '{"everyone": ');
  assert.equal(await holder.reload(), false);
  await rm(path);
  assert.equal(await holder.reload(), false);
  assert.equal(holder.current().version, 1);
  assert.deepEqual(londonPatterns(holder), ['riders/*']);
  holder.close();
});

test('reload() of unchanged content keeps the version', async () => {
  const { holder, logger } = await holderFor('same.json', grantsRead('riders/*'));
  assert.equal(await holder.reload(), true);
  assert.equal(holder.current().version, 1);
  assert.equal(logger.entries.length, 1);
  holder.close();
});

test('concurrent reloads of one edit produce one new version', async () => {
  const { path, holder } = await holderFor('concurrent.json', grantsRead('riders/*'));
  await writeFile(path, grantsRead('cars/*'));
  assert.deepEqual(await Promise.all([holder.reload(), holder.reload(), holder.reload()]), [true, true, true]);
  assert.equal(holder.current().version, 2);
  holder.close();
});

test('a file written in place is picked up without a reload call', async () => {
  const { path, holder } = await holderFor('watched.json', grantsRead('riders/*'), true);
  await writeFile(path, grantsRead('cars/*'));
  await waitFor(() => holder.current().version === 2, 'the watched edit');
  assert.deepEqual(londonPatterns(holder), ['cars/*']);
  holder.close();
});

test('a file replaced by rename, as editors and ConfigMaps do, is picked up', async () => {
  const { path, holder } = await holderFor('renamed.json', grantsRead('riders/*'), true);
  const temporary = join(dir, '.renamed.json.swp');
  await writeFile(temporary, grantsRead('vans/*'));
  await rename(temporary, path);
  await waitFor(() => holder.current().version === 2, 'the renamed file');
  assert.deepEqual(londonPatterns(holder), ['vans/*']);
  await writeFile(path, grantsRead('bikes/*'));
  await waitFor(() => holder.current().version === 3, 'an edit after the rename');
  holder.close();
});

test('a watched invalid edit keeps the old policy and is logged once', async () => {
  const { path, holder, logger } = await holderFor('watched-invalid.json', grantsRead('riders/*'), true);
  await writeFile(path, invalid);
  await waitFor(() => logger.entries.some((entry) => entry.event === 'policy_reload_rejected'), 'the rejection');
  await writeFile(join(dir, 'unrelated.txt'), 'touch');
  await sleep(150);
  assert.equal(logger.entries.filter((entry) => entry.event === 'policy_reload_rejected').length, 1);
  assert.equal(holder.current().version, 1);
  holder.close();
});

test('after close() the file is no longer watched', async () => {
  const { path, holder } = await holderFor('closed.json', grantsRead('riders/*'), true);
  holder.close();
  await writeFile(path, grantsRead('cars/*'));
  await sleep(150);
  assert.equal(holder.current().version, 1);
  assert.equal(await holder.reload(), false);
});

test('a policy edit takes effect within 2 s while a neighbour file is rewritten every 100 ms', async () => {
  const folder = await mkdtemp(join(dir, 'busy-'));
  const path = join(folder, 'policy.json');
  const both = JSON.stringify({ everyone: { grants: { london: { 'riders/*': 'R', 'cars/*': 'R' } } } });
  await writeFile(path, both);
  const holder = await createPolicyHolder({ path, logger: createMemoryLogger() });
  // A session database's journal next to the policy changes at every login.
  let logins = 0;
  const stop = repeatEvery(100, () => writeFile(join(folder, 'sessions.db-journal'), `login ${++logins}`));
  try {
    await sleep(250);
    const edited = performance.now();
    await writeFile(path, grantsRead('riders/*'));
    await waitFor(() => holder.current().version === 2, 'the grant removal', 2000);
    assert.ok(performance.now() - edited < 2000);
    assert.deepEqual(londonPatterns(holder), ['riders/*']);
  } finally {
    stop();
    holder.close();
  }
});

test('a policy file replaced every 100 ms is re-read at most about 1 s after its first change', async () => {
  const folder = await mkdtemp(join(dir, 'republished-'));
  const path = join(folder, 'policy.json');
  await writeFile(path, grantsRead('riders/*'));
  const holder = await createPolicyHolder({ path, logger: createMemoryLogger() });
  // Replaced by rename, so no read can catch a half-written file.
  let copies = 0;
  const publish = async () => {
    const temporary = join(folder, `.policy.json.${++copies}`);
    await writeFile(temporary, grantsRead('cars/*'));
    await rename(temporary, path);
  };
  const edited = performance.now();
  await publish();
  const stop = repeatEvery(100, publish);
  try {
    await waitFor(() => holder.current().version === 2, 'the republished policy', 2000);
    assert.ok(performance.now() - edited < 2000);
    assert.deepEqual(londonPatterns(holder), ['cars/*']);
  } finally {
    stop();
    holder.close();
  }
});

test('changes to other files in the folder neither re-read the policy nor log anything', async () => {
  const folder = await mkdtemp(join(dir, 'neighbours-'));
  const elsewhere = await mkdtemp(join(dir, 'elsewhere-'));
  // The policy is a link to another folder, so editing its target raises no event in the watched one:
  // a re-read can then only have been caused by the neighbours.
  const target = join(elsewhere, 'policy.json');
  await writeFile(target, grantsRead('riders/*'));
  const path = join(folder, 'policy.json');
  await symlink(target, path);
  const logger = createMemoryLogger();
  const holder = await createPolicyHolder({ path, logger, debounceMs: 20 });
  try {
    await writeFile(target, grantsRead('cars/*'));
    for (const name of ['sessions.db', 'sessions.db-journal', '.policy.json.swp', 'policy.json.bak']) {
      await writeFile(join(folder, name), 'x');
      await sleep(30);
    }
    await sleep(200);
    assert.equal(holder.current().version, 1);
    assert.deepEqual(logger.entries.map((entry) => entry.event), ['policy_loaded']);
    assert.equal(await holder.reload(), true);
    assert.deepEqual(londonPatterns(holder), ['cars/*']);
  } finally {
    holder.close();
  }
});

test('a Kubernetes ConfigMap update, which swaps the ..data link by rename, is picked up', async () => {
  // The layout the kubelet writes: policy.json -> ..data/policy.json, ..data -> ..<timestamp>.
  const folder = await mkdtemp(join(dir, 'configmap-'));
  const publish = async (generation: string, text: string) => {
    await mkdir(join(folder, generation));
    await writeFile(join(folder, generation, 'policy.json'), text);
    await symlink(generation, join(folder, '..data_tmp'));
    await rename(join(folder, '..data_tmp'), join(folder, '..data'));
  };
  await publish('..2024_05_01_10_00_00.000000001', grantsRead('riders/*'));
  await symlink('..data/policy.json', join(folder, 'policy.json'));
  const holder = await createPolicyHolder({ path: join(folder, 'policy.json'), logger: createMemoryLogger(), debounceMs: 20 });
  try {
    await publish('..2024_05_01_10_05_00.000000002', grantsRead('vans/*'));
    await rm(join(folder, '..2024_05_01_10_00_00.000000001'), { recursive: true });
    await waitFor(() => holder.current().version === 2, 'the swapped ConfigMap');
    assert.deepEqual(londonPatterns(holder), ['vans/*']);
  } finally {
    holder.close();
  }
});

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/policy.ts', ...args], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, PERMISSIONS_FILE: '', ...env },
  }).then(({ stdout }) => ({ code: 0, stdout }), (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }));

test('policy check accepts the example policy', async () => {
  const { code, stdout } = await cli(['check', '--file', 'policy.example.json']);
  assert.equal(code, 0);
  assert.match(stdout, /^policy\.example\.json: valid \(everyone, rules\[0\]/);
});

test('policy check prints every problem and exits 1', async () => {
  const path = join(dir, 'cli-invalid.json');
  await writeFile(path, invalid);
  const { code, stdout } = await cli(['check', '--file', path]);
  assert.equal(code, 1);
  assert.match(stdout, /invalid, 2 problems\n {2}everyone\.grants\.london\["riders\/\*"\]: .*\n {2}rules\[0\]\.when: is required/);
});

test('policy explain prints per, dpv and the rule behind each entry', async () => {
  const claims = JSON.stringify({ sub: 'bob', groups: ['riders'] });
  const { code, stdout } = await cli(['explain', '--claims', claims, '--file', 'policy.example.json']);
  assert.equal(code, 0);
  assert.match(stdout, /"riders\/bob": "CRUD"/);
  assert.match(stdout, /dpv london riders\/bob \(from riders\/\{sub\}\): rules\[0\]/);
});

test('policy explain reads $PERMISSIONS_FILE when no --file is given', async () => {
  const path = join(dir, 'cli-env.json');
  await writeFile(path, grantsRead('env/*'));
  const { code, stdout } = await cli(['explain', '--json', '--claims', '{"sub":"x"}'], { PERMISSIONS_FILE: path });
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout).per, { london: { 'env/*': 'R' } });
});
