import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryAdapter } from '../../server/dev/create-memory-adapter.ts';

test('the dev provider store forgets entries once they expire', async () => {
  let now = 1_000_000;
  const adapter = createMemoryAdapter(() => now)('AuthorizationCode');
  await adapter.upsert('code-1', { grantId: 'g' }, 60);
  assert.deepEqual(await adapter.find('code-1'), { grantId: 'g' });
  now += 61_000;
  assert.equal(await adapter.find('code-1'), undefined);
});

test('the dev provider store is shared by every model adapter made from one factory', async () => {
  const factory = createMemoryAdapter();
  await factory('Session').upsert('s1', { uid: 'u1', accountId: 'alice' });
  assert.deepEqual(await factory('Session').findByUid('u1'), { uid: 'u1', accountId: 'alice' });
  assert.equal(await createMemoryAdapter()('Session').findByUid('u1'), undefined);
});

test('revoking a grant removes every token issued under it and consume marks a code used', async () => {
  const factory = createMemoryAdapter();
  await factory('AccessToken').upsert('at', { grantId: 'g1' }, 600);
  await factory('AuthorizationCode').upsert('code', { grantId: 'g1' }, 60);
  await factory('AccessToken').upsert('other', { grantId: 'g2' }, 600);
  await factory('AuthorizationCode').consume('code');
  assert.equal(typeof (await factory('AuthorizationCode').find('code'))?.consumed, 'number');

  await factory('AccessToken').revokeByGrantId('g1');

  assert.equal(await factory('AccessToken').find('at'), undefined);
  assert.equal(await factory('AuthorizationCode').find('code'), undefined);
  assert.deepEqual(await factory('AccessToken').find('other'), { grantId: 'g2' });
});
