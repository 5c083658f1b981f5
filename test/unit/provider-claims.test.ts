import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimsFromUserinfo } from '../../server/auth/provider-claims.ts';

const atLogin = {
  sub: 'alice',
  providerSid: 'op-session-1',
  // `groups` came from the ID token, `department` and `nickname` from userinfo.
  claims: { sub: 'alice', groups: ['dispatchers'], department: 'ops', nickname: 'al' },
  userinfoClaims: ['department', 'nickname'],
};

test('claims re-read through userinfo replace what userinfo gave before, dropping what it no longer sends', () => {
  const fresh = claimsFromUserinfo(atLogin, { sub: 'alice', department: 'sales' });
  assert.deepEqual(fresh.claims, { sub: 'alice', groups: ['dispatchers'], department: 'sales' });
  assert.deepEqual(fresh.userinfoClaims, ['department']);
  assert.equal(fresh.providerSid, 'op-session-1');
});

test('a userinfo answer for another subject is refused, whatever else it says', () => {
  assert.throws(() => claimsFromUserinfo(atLogin, { sub: 'mallory', groups: ['admins'] }), { code: 'provider_error' });
  assert.throws(() => claimsFromUserinfo(atLogin, { groups: ['admins'] }), { code: 'provider_error' });
});

test('protocol claims in a userinfo answer stay out of the policy\'s claims, and a claim named __proto__ stays data', () => {
  const fresh = claimsFromUserinfo(atLogin, JSON.parse('{"sub":"alice","iss":"x","sid":"y","__proto__":{"admin":true}}'));
  assert.equal(Object.hasOwn(fresh.claims, 'iss'), false);
  assert.equal(Object.hasOwn(fresh.claims, 'sid'), false);
  assert.equal(({} as Record<string, unknown>).admin, undefined);
  assert.deepEqual(Object.getPrototypeOf(fresh.claims), Object.prototype);
});
