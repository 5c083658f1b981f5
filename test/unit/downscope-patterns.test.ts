import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  intersectPatterns, isPatternWithin, isPatternWithinEveryReading, matchesId, narrowPattern,
} from '../../server/tokens/id-patterns.ts';
import { enumerateIds, randomPattern, seededRandom } from '../support/permission-universe.ts';

// [inner, outer, within under the subtree reading, within under the one-segment reading]
const CONTAINMENT: ReadonlyArray<[string, string, boolean, boolean]> = [
  ['deliveries/42', 'deliveries/*', true, true],
  ['deliveries/42/status', 'deliveries/*', true, false],
  ['deliveries/*', 'deliveries/*', true, true],
  ['deliveries/*/status', 'deliveries/*', true, false],
  ['deliveries/*', 'deliveries/42', false, false],
  ['deliveries', 'deliveries/*', false, false],
  ['cars/red/mycar', 'cars/*/mycar', true, true],
  ['cars/*/mycar', 'cars/*/mycar', true, true],
  ['cars/red/yourcar', 'cars/*/mycar', false, false],
  ['cars/red/mycar/wheel', 'cars/*/mycar', false, false],
  ['x/sensors', '*/sensors', true, true],
  ['*/sensors', 'x/sensors', false, false],
  ['anything/at/all', '*', true, false],
  ['one', '*', true, true],
  ['*', 'one', false, false],
  ['riders/%2A', 'riders/*', true, true],
  ['riders/*', 'riders/%2A', false, false],
  ['riders/%2a', 'riders/%2A', false, false],
];

for (const [inner, outer, subtree, segment] of CONTAINMENT) {
  test(`containment: ${inner} within ${outer} is ${subtree} (subtree) and ${segment} (one segment)`, () => {
    assert.equal(isPatternWithin(inner, outer, 'subtree'), subtree);
    assert.equal(isPatternWithin(inner, outer, 'segment'), segment);
    assert.equal(isPatternWithinEveryReading(inner, outer), subtree && segment);
  });
}

// [requested, granted, what narrowPattern mints (null: nothing)]
const NARROWING: ReadonlyArray<[string, string, string | null]> = [
  ['deliveries/42', 'deliveries/*', 'deliveries/42'],
  ['deliveries/*', 'deliveries/42', 'deliveries/42'],
  ['deliveries/*', 'deliveries/*', 'deliveries/*'],
  ['*', 'riders/bob', 'riders/bob'],
  ['*', 'deliveries/bob/*', 'deliveries/bob/*'],
  ['cars/*/mycar', 'cars/red/*', 'cars/red/mycar'],
  ['cars/red/mycar', 'cars/*/mycar', 'cars/red/mycar'],
  ['cars/*/mycar', 'cars/red/mycar', 'cars/red/mycar'],
  ['*/sensors', 'london/*', 'london/sensors'],
  ['deliveries/42/status', 'deliveries/*', null],
  ['deliveries/*', 'deliveries/*/status', 'deliveries/*/status'],
  ['riders/alice', 'riders/bob', null],
  ['riders/alice/x', 'riders/alice', null],
  ['riders', 'riders/*', null],
  ['a/*/c', 'a/b/*', 'a/b/c'],
  ['a/*/c/d', 'a/b/*', null],
  ['a/*/c', 'a/b/c', 'a/b/c'],
  ['riders/%2A', 'riders/*', 'riders/%2A'],
  ['riders/*', 'riders/%2A', 'riders/%2A'],
  ['riders/%2A', 'riders/bob', null],
];

for (const [requested, granted, expected] of NARROWING) {
  test(`narrowing: asking ${requested} under a grant of ${granted} mints ${expected ?? 'nothing'}`, () => {
    assert.equal(narrowPattern(requested, granted), expected);
  });
}

test('intersection is exact under the subtree reading (every pair of patterns over a small alphabet)', () => {
  const ids = enumerateIds(['x', 'y'], 4);
  const patterns = [...enumerateIds(['x', 'y', '*'], 3)];
  for (const a of patterns) {
    for (const b of patterns) {
      const common = intersectPatterns(a, b);
      for (const id of ids) {
        const inBoth = matchesId(a, id, 'subtree') && matchesId(b, id, 'subtree');
        const inCommon = common !== null && matchesId(common, id, 'subtree');
        assert.equal(inCommon, inBoth, `${a} ∩ ${b} = ${common} on ${id}`);
      }
    }
  }
});

test('a narrowed pattern is within its grant under both readings (random pairs, seeded)', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  const random = seededRandom(seed);
  const ids = enumerateIds(['x', 'y'], 5);
  for (let i = 0; i < 2000; i += 1) {
    const requested = randomPattern(random, ['x', 'y'], 4);
    const granted = randomPattern(random, ['x', 'y'], 4);
    const narrowed = narrowPattern(requested, granted);
    if (narrowed === null) continue;
    for (const reading of ['subtree', 'segment'] as const) {
      for (const id of ids) {
        if (matchesId(narrowed, id, reading)) {
          assert.ok(matchesId(granted, id, reading), `seed ${seed}: ${requested} under ${granted} gave ${narrowed}, wider on ${id} (${reading})`);
        }
      }
    }
  }
});
