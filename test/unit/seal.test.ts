import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSealer } from '../../server/sessions/seal.ts';

const current = 'c'.repeat(16) + 'current-secret-0123456789';
const older = 'o'.repeat(16) + 'older-secret-0123456789';

test('a sealed token opens with the same secrets, and its text appears nowhere in the sealed form', () => {
  const sealer = createSealer([current]);
  const sealed = sealer.seal('refresh-token-value');
  assert.doesNotMatch(sealed, /refresh-token-value/);
  assert.equal(sealer.open(sealed), 'refresh-token-value');
  assert.notEqual(sealer.seal('refresh-token-value'), sealed, 'each seal has its own IV');
});

test('a token sealed before a session-secret rotation still opens while the old secret stays in the list', () => {
  const sealed = createSealer([older]).seal('kept');
  assert.equal(createSealer([current, older]).open(sealed), 'kept');
  assert.equal(createSealer([current]).open(sealed), undefined);
});

test('an altered, truncated or foreign sealed value opens to nothing', () => {
  const sealer = createSealer([current]);
  const sealed = sealer.seal('value');
  const parts = sealed.split('.');
  const flipped = [...parts.slice(0, 3), Buffer.from('x' + Buffer.from(parts[3]!, 'base64url').toString('latin1').slice(1), 'latin1').toString('base64url'), parts[4]].join('.');
  for (const bad of [flipped, parts.slice(0, 4).join('.'), 'v2.' + parts.slice(1).join('.'), createSealer([older]).seal('value'), '', 42, undefined]) {
    assert.equal(sealer.open(bad), undefined, String(bad));
  }
});
