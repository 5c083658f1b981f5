import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeSegmentValue, MAX_CLAIM_VALUE_LENGTH } from '../../server/policy/encode-segment-value.ts';

const ONE_LITERAL_SEGMENT = /^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+$/;

const encoded: Array<[string, string, string]> = [
  ['a plain subject is kept as it is', 'alice', 'alice'],
  ['unreserved punctuation is kept', 'a.b_c-d~e', 'a.b_c-d~e'],
  ["'*' cannot act as a wildcard", '*', '%2A'],
  ["'/' cannot start another segment", 'bob/../admin', 'bob%2F..%2Fadmin'],
  ["'%' cannot smuggle an escape", '%2A', '%252A'],
  ['braces cannot form a template', '{sub}', '%7Bsub%7D'],
  ['whitespace is encoded', ' a b\t', '%20a%20b%09'],
  ['control characters are encoded', 'a\u0000b\n', 'a%00b%0A'],
  ['quotes and parentheses left by encodeURIComponent are encoded', "!'()", '%21%27%28%29'],
  ['an Auth0 subject keeps its provider prefix, encoded', 'auth0|abc123', 'auth0%7Cabc123'],
  ['non-ASCII becomes UTF-8 bytes', 'ünï', '%C3%BCn%C3%AF'],
  ['a fullwidth lookalike stays distinct from ASCII', 'ａlice', '%EF%BD%81lice'],
  ['a dot-only value is kept (templates refuse dot segments)', '..', '..'],
];

for (const [name, input, expected] of encoded) {
  test(`encodeSegmentValue: ${name}`, () => {
    const output = encodeSegmentValue(input);
    assert.equal(output, expected);
    assert.match(output as string, ONE_LITERAL_SEGMENT);
    assert.equal(decodeURIComponent(output as string), input, 'encoding must be reversible, hence injective');
  });
}

const refused: Array<[string, unknown, string]> = [
  ['a missing claim is refused', undefined, 'is missing'],
  ['a null claim is refused', null, 'is missing'],
  ['an empty string is refused', '', 'is an empty string'],
  ['a number is refused, not stringified', 42, 'is not a string'],
  ['an array is refused, not joined', ['a', 'b'], 'is not a string'],
  ['an object with toString is refused', { toString: () => 'alice' }, 'is not a string'],
  ['a boolean is refused', true, 'is not a string'],
  ['a value over the length cap is refused', 'a'.repeat(MAX_CLAIM_VALUE_LENGTH + 1), `is longer than ${MAX_CLAIM_VALUE_LENGTH} characters`],
  ['a lone surrogate is refused', 'a\uD800b', 'is not well-formed Unicode (lone surrogate)'],
];

for (const [name, input, reason] of refused) {
  test(`encodeSegmentValue: ${name}`, () => {
    assert.deepEqual(encodeSegmentValue(input), { refusal: reason });
  });
}

test('encodeSegmentValue: a value exactly at the length cap is accepted', () => {
  assert.equal(encodeSegmentValue('a'.repeat(MAX_CLAIM_VALUE_LENGTH)), 'a'.repeat(MAX_CLAIM_VALUE_LENGTH));
});
