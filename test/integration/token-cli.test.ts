import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { createTokenSigner, fixedKey } from '../../server/tokens/create-token-signer.ts';

const SECRET = Buffer.alloc(32, 'explain-token-secret');
const mint = (secretId: string) => createTokenSigner({ keys: fixedKey({ secret: SECRET, kid: secretId }), issuer: 'platform.hivekit.io', tenantId: 'tenant-1', ttlSeconds: 900 }).mint('alice', {}, {}).token;

test('npm run token -- verify explains a token with the configured secret and exits 0, 1 for a bad one', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const env = {
    PATH: process.env.PATH ?? '', NODE_ENV: 'test', OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's',
    SESSION_SECRET: 'a-session-secret-of-at-least-32-characters', HIVEKIT_TENANT_ID: 'tenant-1', HIVEKIT_SECRET: SECRET.toString('base64'), HIVEKIT_SECRET_ID: 'kid-1',
  };
  const run = (token: string) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/token.ts', 'verify', token], { cwd: root, env })
    .then(({ stdout }) => ({ code: 0, stdout }), (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }));
  const good = mint('kid-1');
  const ok = await run(good);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /^ok {4}signature valid with the configured HIVEKIT_SECRET$/m);
  assert.match(ok.stdout, /Hivekit should accept this token/);
  const bad = await run(mint('kid-old'));
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^FAIL {2}kid {7}kid-old: not the configured HIVEKIT_SECRET_ID \(kid-1\)/m);
});
