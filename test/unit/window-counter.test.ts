import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWindowCounter } from '../../server/http/window-counter.ts';

test('counts each key in its own window, which starts at the key\'s first request', () => {
  let time = 1_000;
  const { count } = createWindowCounter(60_000, () => time);
  assert.deepEqual(count('a'), { hits: 1, resetAt: 61_000 });
  time = 31_000;
  assert.deepEqual(count('a'), { hits: 2, resetAt: 61_000 });
  assert.deepEqual(count('b'), { hits: 1, resetAt: 91_000 });
  time = 61_000;
  assert.deepEqual(count('a'), { hits: 1, resetAt: 121_000 }, 'a new window once the old one ended');
  assert.deepEqual(count('b'), { hits: 2, resetAt: 91_000 }, 'b\'s window still runs across the turnover');
});

test('requests counted in the same tick each see their own count', () => {
  const { count } = createWindowCounter(60_000, () => 0);
  assert.deepEqual(Array.from({ length: 5 }, () => count('session:x').hits), [1, 2, 3, 4, 5]);
});

test('a key idle for two windows starts again at one', () => {
  let time = 0;
  const { count } = createWindowCounter(1_000, () => time);
  count('a');
  count('a');
  time = 2_500;
  assert.deepEqual(count('a'), { hits: 1, resetAt: 3_500 });
});

test('uncount takes back one request of the current window, never below zero and never from an ended window', () => {
  let time = 0;
  const { count, uncount } = createWindowCounter(1_000, () => time);
  count('a');
  count('a');
  uncount('a');
  assert.deepEqual(count('a'), { hits: 2, resetAt: 1_000 });
  uncount('a');
  uncount('a');
  uncount('a');
  assert.deepEqual(count('a'), { hits: 1, resetAt: 1_000 }, 'not below zero');
  uncount('unknown');
  assert.deepEqual(count('unknown'), { hits: 1, resetAt: 1_000 });
  time = 1_500;
  uncount('a');
  assert.deepEqual(count('a'), { hits: 1, resetAt: 2_500 }, 'the ended window is not touched; a new one starts');
});

test('forget starts a key\'s next request in a new window', () => {
  let time = 0;
  const { count, forget } = createWindowCounter(1_000, () => time);
  count('a');
  count('b');
  time = 400;
  forget('a');
  assert.deepEqual(count('a'), { hits: 1, resetAt: 1_400 });
  assert.deepEqual(count('b'), { hits: 2, resetAt: 1_000 }, 'other keys keep their count');
});
