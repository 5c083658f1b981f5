import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { boundedCache } from '../../server/bounded-cache.ts';

test('holds at most its bound, forgetting the least recently used entry first', () => {
  const cache = boundedCache<string, number>(3);
  cache.set('a', 1);
  cache.set('b', 2);
  cache.set('c', 3);
  assert.equal(cache.get('a'), 1);
  cache.set('d', 4);
  assert.equal(cache.size, 3);
  assert.equal(cache.has('b'), false, 'the least recently used entry stayed');
  assert.deepEqual([...cache.keys()].sort(), ['a', 'c', 'd']);
});

test('a cache of 10 000 entries takes almost nothing until it is used', () => {
  // --expose-gc for this test alone: a context made after the flag is set gets gc().
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const caches = Array.from({ length: 20 }, () => boundedCache<string, string>(10_000));
  gc();
  const perCacheBytes = (process.memoryUsage().heapUsed - before) / caches.length;
  assert.ok(perCacheBytes < 10_000, `${Math.round(perCacheBytes)} bytes per empty cache`);
});
