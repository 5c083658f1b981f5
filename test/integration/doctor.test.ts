import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { freePort, PROJECT_ROOT } from '../support/start-product.ts';

const PUBLIC_URL = 'https://bff.example.com';

/** `npm run doctor` as an operator runs it: the compiled-free script with only this environment. */
function doctor(env: Record<string, string>): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/doctor.ts'], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, lines: stdout.split('\n').filter(Boolean) }));
  });
}

const line = (lines: string[], name: string) => lines.find((entry) => entry.slice(6).startsWith(name)) ?? `(no ${name} line in:\n${lines.join('\n')})`;

describe('npm run doctor', () => {
  let provider: TestProvider;
  let dir: string;
  let good: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'doctor-'));
    provider = await startTestProvider({ redirectUri: `${PUBLIC_URL}/oauth2/redirect`, postLogoutRedirectUri: `${PUBLIC_URL}/` });
    await writeFile(join(dir, 'policy.json'), JSON.stringify({ everyone: { grants: { london: { 'riders/*': 'R' } } }, rules: [{ when: { claim: 'groups', includes: 'ops' }, grants: { paris: { '*': 'CRUD' } } }] }));
    good = {
      NODE_ENV: 'production', PUBLIC_URL, TRUST_PROXY: '1', OIDC_ISSUER: provider.issuer, OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret, SESSION_SECRET: randomBytes(32).toString('base64url'), SESSION_DB: join(dir, 'sessions.db'),
      HIVEKIT_TENANT_ID: 'tenant', HIVEKIT_SECRET: randomBytes(32).toString('base64'), HIVEKIT_SECRET_ID: 'kid-1', PERMISSIONS_FILE: join(dir, 'policy.json'),
    };
  });
  after(async () => {
    await provider?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes on a good configuration: one ok line per check, exit 0', async () => {
    const { code, lines } = await doctor(good);
    assert.equal(code, 0, lines.join('\n'));
    for (const name of ['settings', 'discovery', 'jwks', 'redirect uri', 'client credentials', 'session store', 'policy', 'hivekit secret', 'clock']) {
      assert.match(line(lines, name), /^ok {4}/, `${name}: ${lines.join('\n')}`);
    }
    assert.match(line(lines, 'client credentials'), /invalid_grant/);
    assert.match(line(lines, 'policy'), /realms london, paris/);
    assert.match(line(lines, 'session store'), /wrote and deleted a probe record/);
    assert.ok(!lines.join('\n').includes(good.HIVEKIT_SECRET!), 'the secret in the output');
  });

  it('names the exact issuer to set when OIDC_ISSUER differs from the provider\'s (a trailing slash)', async () => {
    const { code, lines } = await doctor({ ...good, OIDC_ISSUER: `${provider.issuer}/` });
    assert.equal(code, 1);
    assert.match(line(lines, 'issuer'), new RegExp(`^FAIL .*fix: set OIDC_ISSUER=${provider.issuer.replace(/[.]/g, '\\.')} \\(compared exactly`));
  });

  it('names the client credentials when the client secret is wrong (invalid_client, not invalid_grant)', async () => {
    const { code, lines } = await doctor({ ...good, OIDC_CLIENT_SECRET: 'a-wrong-client-secret-0123456789' });
    assert.equal(code, 1);
    assert.match(line(lines, 'client credentials'), /^FAIL .*invalid_client.*fix: check OIDC_CLIENT_ID and OIDC_CLIENT_SECRET/);
    assert.ok(!lines.join('\n').includes('a-wrong-client-secret'), 'the secret in the output');
  });

  it('names the reachability fix for an unreachable provider and skips what needs it', async () => {
    const { code, lines } = await doctor({ ...good, OIDC_ISSUER: `http://127.0.0.1:${await freePort()}` });
    assert.equal(code, 1);
    assert.match(line(lines, 'discovery'), /^FAIL .*ECONNREFUSED.*fix: check OIDC_ISSUER \(scheme, host, port\)/);
    assert.match(line(lines, 'client credentials'), /^FAIL .*fix: fix discovery first/);
    assert.match(line(lines, 'session store'), /^ok/);
  });

  it('names the fix for a session database that cannot be created (its folder is a regular file)', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a folder');
    const { code, lines } = await doctor({ ...good, SESSION_DB: join(file, 'sessions.db') });
    assert.equal(code, 1);
    assert.match(line(lines, 'session store'), /^FAIL .*a-file\/sessions\.db.*fix: SESSION_DB must be a file this user can create and write/);
    assert.match(line(lines, 'client credentials'), /^ok/);
  });

  it('lists every settings problem on its own line and stops there', async () => {
    const { code, lines } = await doctor({ ...good, HIVEKIT_SECRET: 'c2hvcnQ=', TOKEN_TTL_SECONDS: '5' });
    assert.equal(code, 1);
    assert.ok(lines.every((entry) => /^FAIL {2}settings /.test(entry)), lines.join('\n'));
    assert.deepEqual([...new Set(lines.map((entry) => entry.split(/\s+/)[2]))], ['HIVEKIT_SECRET:', 'TOKEN_TTL_SECONDS:']);
  });
});
