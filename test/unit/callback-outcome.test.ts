import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { providerRefusal, readCallbackParams } from '../../server/auth/callback-outcome.ts';

describe('readCallbackParams', () => {
  const table: Array<[string, Record<string, unknown>, string]> = [
    ['a code with a state', { code: 'c', state: 's' }, 'code'],
    ['an error response', { error: 'access_denied', state: 's' }, 'error'],
    ['an error response without state (checked later)', { error: 'access_denied' }, 'error'],
    ['nothing at all', {}, 'malformed'],
    ['a code without state', { code: 'c' }, 'malformed'],
    ['two codes', { code: ['a', 'b'], state: 's' }, 'malformed'],
    ['two states', { code: 'c', state: ['a', 'b'] }, 'malformed'],
    ['an empty code', { code: '', state: 's' }, 'malformed'],
    ['an error as an object', { error: { x: 1 }, state: 's' }, 'malformed'],
  ];
  for (const [what, query, kind] of table) {
    it(`reads ${what} as ${kind}`, () => assert.equal(readCallbackParams(query).kind, kind));
  }

  it('replaces an error code outside the OAuth grammar, so attacker text never reaches the log', () => {
    const params = readCallbackParams({ error: '<script>alert(1)</script>', state: 's' });
    assert.deepEqual(params, { kind: 'error', state: 's', error: 'invalid_error_code' });
  });
});

describe('providerRefusal', () => {
  it('treats the user or provider declining as access_denied and anything else as login_failed', () => {
    for (const error of ['access_denied', 'login_required', 'consent_required', 'interaction_required']) {
      assert.equal(providerRefusal(error).code, 'access_denied');
    }
    assert.equal(providerRefusal('server_error').code, 'login_failed');
    assert.equal(providerRefusal('invalid_error_code').code, 'login_failed');
  });
});
