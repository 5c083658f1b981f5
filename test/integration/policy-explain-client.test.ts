import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/policy.ts', ...args], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, PERMISSIONS_FILE: '' },
  }).then(({ stdout }) => ({ code: 0, stdout, stderr: '' }), (error: { code: number; stdout: string; stderr: string }) => error);

const POLICY = {
  everyone: { grants: { london: { 'riders/*': 'R' } } },
  rules: [{
    description: 'The reporting job reads deliveries.',
    when: [{ claim: 'client_id', equals: 'reporting-job' }, { claim: 'scope', includes: 'hivekit:read' }],
    grants: { '*': { 'deliveries/*': 'R' }, london: { 'reports/{claims.client_id}': 'CRU' } },
  }],
};
// A client-credentials access token's payload as oidc-provider 8 issues it (RFC 9068).
const JOB_TOKEN = JSON.stringify({
  iss: 'https://idp.example', aud: 'urn:hivekit-bff', sub: 'reporting-job', client_id: 'reporting-job', scope: 'hivekit:read', iat: 1, exp: 2, jti: 'j',
});
let dir: string;
let file: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-client-'));
  file = join(dir, 'policy.json');
  await writeFile(file, JSON.stringify(POLICY));
});
after(() => rm(dir, { recursive: true, force: true }));

test('policy explain --access-token-claims reads a machine client token as POST /token does: its rule matches on client_id and scope', async () => {
  const { code, stdout } = await cli(['explain', '--file', file, '--access-token-claims', JOB_TOKEN, '--request', 'realm=london']);
  assert.equal(code, 0);
  assert.match(stdout, /Subject token: machine client reporting-job \(no end user\); the token's sub would be "reporting-job"/);
  assert.match(stdout, /Claims the policy sees: \{"sub":"reporting-job","client_id":"reporting-job","scope":\["hivekit:read"\]\}/);
  assert.match(stdout, /per \* deliveries\/\* R: rules\[0\]/);
  assert.match(stdout, /"reports\/reporting-job": "CRU"/);
  assert.match(stdout, /With the request realm=london:/);
});

test('policy explain --access-token-claims --json carries the subject next to the result', async () => {
  const { code, stdout } = await cli(['explain', '--file', file, '--access-token-claims', JOB_TOKEN, '--json']);
  assert.equal(code, 0);
  const out = JSON.parse(stdout) as { per: Record<string, object>; subject: { sub: string; kind: string; clientId: string } };
  assert.deepEqual(out.subject.kind, 'client');
  assert.deepEqual(out.per['*'], { 'deliveries/*': 'R' });
});

test('policy explain takes --claims or --access-token-claims, not both, and refuses a token naming nobody', async () => {
  assert.equal((await cli(['explain', '--file', file, '--claims', '{}', '--access-token-claims', JOB_TOKEN])).code, 2);
  const nobody = await cli(['explain', '--file', file, '--access-token-claims', '{"scope":"x"}']);
  assert.equal(nobody.code, 2);
  assert.match(nobody.stderr, /neither sub nor client_id/);
});
