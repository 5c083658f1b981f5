import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toLocalPath } from '../../server/auth/return-to.ts';

describe('toLocalPath', () => {
  const kept: Array<[string, string]> = [
    ['/', '/'],
    ['/dashboard', '/dashboard'],
    ['/a/b?x=1#frag', '/a/b?x=1#frag'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['/path/../other', '/other'],
  ];
  for (const [input, expected] of kept) {
    it(`keeps the local path ${JSON.stringify(input)}`, () => assert.equal(toLocalPath(input), expected));
  }

  const refused = [
    '//evil.example', '/\\evil.example', '\\\\evil.example', 'https:evil.example', 'https://evil.example',
    'javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,hi', '/\t/evil.example', '/\n/evil.example',
    '/\r\n/evil.example', '\t//evil.example', ' //evil.example', '///evil.example', 'evil.example', '',
    '/\u0000/evil', `/${'a'.repeat(3000)}`, '/.//evil.example', '/a/..//evil.example', '/./../..//evil.example',
  ];
  for (const input of refused) {
    it(`turns ${JSON.stringify(input.slice(0, 40))} into /`, () => assert.equal(toLocalPath(input), '/'));
  }

  it('turns anything that is not a string into /', () => {
    for (const input of [undefined, null, 42, ['/a'], { a: 1 }]) assert.equal(toLocalPath(input), '/');
  });
});
