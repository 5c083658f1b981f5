import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import { ConfigError, loadConfig } from '../../server/config/load-config.ts';
import { readHivekitSecretFile } from '../../server/config/hivekit-secret-file.ts';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { createKeyHolder } from '../../server/tokens/create-key-holder.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { runProductToExit, startProduct } from '../support/start-product.ts';
import { reservePort, startTestApp, type TestApp } from '../support/test-app.ts';

const OLD_SECRET = randomBytes(32);
const NEW_SECRET = randomBytes(32);
const secretFile = (kid: string, secret: Buffer) => JSON.stringify({ kid, secret: secret.toString('base64') });

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'secret-rotation-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

/** Writes the file as a deploy tool would: a temporary file renamed over it, owner-only unless `mode` says otherwise. */
async function replaceFile(path: string, text: string, mode = 0o600): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, text, { mode });
  await chmod(temporary, mode);
  await rename(temporary, path);
}

async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, limitMs = 5000): Promise<T> {
  for (let waited = 0; waited <= limitMs; waited += 25) {
    const value = await check();
    if (value) return value;
    await sleep(25);
  }
  assert.fail(`timed out after ${limitMs} ms waiting for ${what}`);
}

const kidOf = (token: string, secret: Buffer) => jwt.verify(token, secret, { algorithms: ['HS256'], complete: true }).header.kid;

describe('HIVEKIT_SECRET_FILE in the running app', () => {
  let provider: TestProvider;
  let app: TestApp;
  let path: string;
  const jar = new CookieJar();
  const token = async () => {
    const answer = await hop(`${app.url}/hivekit-access-token`, { jar });
    assert.equal(answer.status, 200, answer.text);
    return (answer.json as { token: string }).token;
  };

  before(async () => {
    path = join(await mkdtemp(join(dir, 'app-')), 'hivekit-secret.json');
    await replaceFile(path, secretFile('kid-old', OLD_SECRET));
    const listener = await reservePort();
    provider = await startTestProvider({ redirectUri: `${listener.url}/oauth2/redirect`, postLogoutRedirectUri: `${listener.url}/` });
    app = await startTestApp({
      issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret, listener,
      env: { HIVEKIT_SECRET: '', HIVEKIT_SECRET_ID: '', HIVEKIT_SECRET_FILE: path },
    });
    const start = await hop(`${app.url}/login?returnTo=/`, { jar });
    const { callbackUrl } = await provider.login(start.location!);
    assert.equal((await hop(callbackUrl, { jar })).status, 303);
  });
  after(async () => {
    await app?.stop();
    await app?.cleanup();
    await provider?.close();
  });

  it('a rotated secret file is picked up without restart: the next token has the new kid and verifies with the new secret', async () => {
    assert.equal(kidOf(await token(), OLD_SECRET), 'kid-old');
    await replaceFile(path, secretFile('kid-new', NEW_SECRET));
    const rotated = await waitFor(async () => { const next = await token(); return jwt.decode(next, { complete: true })!.header.kid === 'kid-new' && next; }, 'a token with the new kid');
    assert.equal(kidOf(rotated, NEW_SECRET), 'kid-new');
    assert.throws(() => kidOf(rotated, OLD_SECRET), /invalid signature/);
    const rotation = app.logger.entries.find((entry) => entry.event === 'hivekit_secret_rotated');
    assert.deepEqual(rotation?.fields, { path, kid: 'kid-new', previousKid: 'kid-old' });
  });

  it('a broken write (half a file) keeps the key in force and the tokens keep coming', async () => {
    await replaceFile(path, '{"kid": "kid-half", "secr');
    await waitFor(() => app.logger.entries.some((entry) => entry.event === 'hivekit_secret_reload_rejected'), 'the rejection');
    assert.equal(kidOf(await token(), NEW_SECRET), 'kid-new');
  });
});

describe('the key holder over a bad file (production checks)', () => {
  const checks = { isProduction: true, otherSecrets: { sessionSecrets: ['session-secret-0123456789abcdefghijklmnop'], clientSecret: 'client-secret' } };
  const cases: Array<[string, string, number, RegExp]> = [
    ['unparsable', `{"kid": "kid-bad", "secret": "${NEW_SECRET.toString('base64')}"`, 0o600, /is not valid JSON/],
    ['weak (all-zero bytes)', secretFile('kid-bad', Buffer.alloc(32)), 0o600, /"secret": decodes to only 1 distinct byte value/],
    ['too short', secretFile('kid-bad', randomBytes(16)), 0o600, /"secret": decodes to 16 bytes; HS256 needs at least 32/],
    ['group-readable (mode 0640)', secretFile('kid-bad', NEW_SECRET), 0o640, /is open to group or others \(mode 0640\); make it owner-only: chmod 600/],
  ];
  for (const [name, text, mode, reason] of cases) {
    it(`a bad file, ${name}, keeps the old key and logs why, never the secret`, async () => {
      const folder = await mkdtemp(join(dir, 'holder-'));
      const path = join(folder, 'hivekit-secret.json');
      await replaceFile(path, secretFile('kid-old', OLD_SECRET));
      const first = readHivekitSecretFile(path, checks);
      assert.ok(first.ok);
      const logger = createMemoryLogger();
      const holder = createKeyHolder({ path, logger, initial: first.key, read: () => readHivekitSecretFile(path, checks), debounceMs: 20, maxDelayMs: 100 });
      try {
        await replaceFile(path, text, mode);
        const rejected = await waitFor(() => logger.entries.find((entry) => entry.event === 'hivekit_secret_reload_rejected'), 'the rejection');
        assert.equal(rejected.level, 'warn');
        assert.equal(rejected.fields.kid, 'kid-old');
        const problems = rejected.fields.problems as string[];
        assert.ok(problems.some((problem) => reason.test(problem)), JSON.stringify(problems));
        assert.equal(holder.current().kid, 'kid-old');
        assert.ok(holder.current().secret.equals(OLD_SECRET));
        const logged = JSON.stringify(logger.entries);
        for (const secret of [OLD_SECRET, NEW_SECRET]) assert.ok(!logged.includes(secret.toString('base64')), 'a secret in the log');
        // Fixed, the file is taken: a chmod alone is a change of the file.
        if (mode !== 0o600) {
          await chmod(path, 0o600);
          await waitFor(() => holder.current().kid === 'kid-bad', 'the fixed file');
        }
      } finally {
        holder.close();
      }
    });
  }
});

describe('HIVEKIT_SECRET_FILE at start', () => {
  const production = (path: string) => ({
    NODE_ENV: 'production', PUBLIC_URL: 'https://bff.example.com', TRUST_PROXY: '1', OIDC_ISSUER: 'https://id.example.com/',
    OIDC_CLIENT_ID: 'bff', OIDC_CLIENT_SECRET: randomBytes(24).toString('base64url'), SESSION_SECRET: randomBytes(32).toString('base64url'),
    HIVEKIT_TENANT_ID: 'tenant', HIVEKIT_SECRET_FILE: path,
  });

  it('is read into the configuration in place of HIVEKIT_SECRET and HIVEKIT_SECRET_ID', async () => {
    const path = join(dir, 'start-good.json');
    await replaceFile(path, secretFile('kid-start', OLD_SECRET));
    const config = loadConfig(production(path));
    assert.equal(config.hivekit.secretId, 'kid-start');
    assert.ok(config.hivekit.secret.equals(OLD_SECRET));
    assert.equal(config.hivekit.secretFile, path);
  });

  it('set together with HIVEKIT_SECRET or HIVEKIT_SECRET_ID is a configuration problem', async () => {
    const path = join(dir, 'start-both.json');
    await replaceFile(path, secretFile('kid-start', OLD_SECRET));
    for (const extra of [{ HIVEKIT_SECRET: NEW_SECRET.toString('base64') }, { HIVEKIT_SECRET_ID: 'kid-env' }]) {
      assert.throws(() => loadConfig({ ...production(path), ...extra }), (error: ConfigError) =>
        error.problems.some((problem) => problem.startsWith('HIVEKIT_SECRET_FILE: set together with HIVEKIT_SECRET or HIVEKIT_SECRET_ID')));
    }
  });

  it('start refuses a group-readable secret file, naming the file and the chmod fix', async () => {
    const path = join(dir, 'start-group-readable.json');
    await replaceFile(path, secretFile('kid-start', OLD_SECRET), 0o640);
    const { code, output } = await runProductToExit({ ...production(path), PORT: '0' });
    assert.equal(code, 1, output);
    assert.ok(output.includes(`HIVEKIT_SECRET_FILE: ${path} is open to group or others (mode 0640); make it owner-only: chmod 600 "${path}"`), output);
    assert.ok(!output.includes(OLD_SECRET.toString('base64')), 'the secret in the output');
  });
});

describe('SIGHUP (the real process)', () => {
  it('re-reads the secret file: the next token has the new kid', async () => {
    // The file is a link into a folder nobody watches, so only the signal can make the product look again.
    const real = join(await mkdtemp(join(dir, 'real-')), 'secret.json');
    const linked = join(await mkdtemp(join(dir, 'linked-')), 'hivekit-secret.json');
    await replaceFile(real, secretFile('kid-old', OLD_SECRET));
    await symlink(real, linked);
    const listener = await reservePort();
    const port = new URL(listener.url).port;
    listener.server.close();
    const publicUrl = `http://127.0.0.1:${port}`;
    const provider = await startTestProvider({ redirectUri: `${publicUrl}/oauth2/redirect`, postLogoutRedirectUri: `${publicUrl}/` });
    const dataDir = join(dir, 'sighup-data');
    await mkdir(dataDir);
    const product = await startProduct({
      NODE_ENV: 'test', PORT: port, PUBLIC_URL: publicUrl, OIDC_ISSUER: provider.issuer, OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret, SESSION_SECRET: randomBytes(32).toString('base64url'), DATA_DIR: dataDir,
      HIVEKIT_TENANT_ID: 'tenant', HIVEKIT_SECRET_FILE: linked,
    });
    try {
      const jar = new CookieJar();
      const start = await hop(`${publicUrl}/login?returnTo=/`, { jar });
      const { callbackUrl } = await provider.login(start.location!);
      assert.equal((await hop(callbackUrl, { jar })).status, 303);
      const token = async () => ((await hop(`${publicUrl}/hivekit-access-token`, { jar })).json as { token: string }).token;
      assert.equal(kidOf(await token(), OLD_SECRET), 'kid-old');
      await replaceFile(real, secretFile('kid-new', NEW_SECRET));
      await sleep(500);
      assert.equal(kidOf(await token(), OLD_SECRET), 'kid-old', 'changed without the signal: the test would prove nothing');
      process.kill(await serverPid(product.child.pid!), 'SIGHUP');
      await waitFor(() => product.output().includes('"event":"hivekit_secret_rotated"'), `the rotation log line in:\n${product.output()}`);
      assert.equal(kidOf(await token(), NEW_SECRET), 'kid-new');
    } finally {
      await product.stop();
      await provider.close();
    }
  });
});

/** The node process running server/main.ts in the process group npm start leads. */
async function serverPid(groupId: number): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name: state ppid pgrp …
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const [program = '', ...args] = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      // npm runs `sh -c "node … server/main.ts"`: the shell's command line names the file too.
      if (pgrp === groupId && /(^|\/)node$/.test(program) && args.includes('server/main.ts')) return Number(entry);
    } catch { /* gone meanwhile */ }
  }
  assert.fail('no server/main.ts process in the group');
}
