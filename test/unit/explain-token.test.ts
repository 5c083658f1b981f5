import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTokenSigner, fixedKey } from '../../server/tokens/create-token-signer.ts';
import { explainToken, type TokenExpectations } from '../../server/tokens/explain-token.ts';

const SECRET = Buffer.alloc(32, 'explain-token-secret');
const NOW = 1_800_000_000;
const expected: TokenExpectations = { secret: SECRET, secretId: 'kid-1', tenantId: 'tenant-1', issuer: 'platform.hivekit.io', now: NOW };
const mint = (overrides: Partial<{ secret: Buffer; secretId: string; tenantId: string; at: number }> = {}) => createTokenSigner({
  keys: fixedKey({ secret: overrides.secret ?? SECRET, kid: overrides.secretId ?? 'kid-1' }), issuer: 'platform.hivekit.io',
  tenantId: overrides.tenantId ?? 'tenant-1', ttlSeconds: 900, now: () => (overrides.at ?? NOW - 60) * 1000,
}).mint('alice', { london: { 'riders/*': 'R' } }, {}).token;
const failed = (token: string) => explainToken(token, expected).filter((finding) => !finding.ok).map((finding) => finding.part);

test('token verify: a token minted with the configuration passes every check and lists its permissions', () => {
  const findings = explainToken(mint(), expected);
  assert.deepEqual(findings.filter((finding) => !finding.ok), []);
  assert.match(findings.find((finding) => finding.part === 'per')!.text, /london: riders\/\*=R/);
  assert.match(findings.find((finding) => finding.part === 'exp')!.text, /valid 840 s more, lifetime 900 s/);
});

test('token verify names what Hivekit would refuse: another secret, another kid, another tenant, expired, from the future, not a JWT', () => {
  assert.deepEqual(failed(mint({ secret: Buffer.alloc(32, 'another-secret') })), ['signature']);
  assert.deepEqual(failed(mint({ secretId: 'kid-old' })), ['kid']);
  assert.deepEqual(failed(mint({ tenantId: 'tenant-2' })), ['tnd']);
  assert.deepEqual(failed(mint({ at: NOW - 1000 })), ['exp']);
  assert.deepEqual(failed(mint({ at: NOW + 60 })), ['iat']);
  assert.deepEqual(failed('not-a-token'), ['token']);
});
