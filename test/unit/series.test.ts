import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Request, RequestHandler, Response } from 'express';
import { series } from '../../server/http/series.ts';

const req = {} as Request;
const res = {} as Response;

function run(handlers: RequestHandler[]): Promise<unknown> {
  return new Promise((resolve) => { series(handlers)(req, res, (error?: unknown) => resolve(error)); });
}

test('runs every handler in order, then passes on', async () => {
  const ran: number[] = [];
  const step = (n: number): RequestHandler => (_req, _res, next) => { ran.push(n); next(); };
  assert.equal(await run([step(1), step(2), step(3)]), undefined);
  assert.deepEqual(ran, [1, 2, 3]);
});

test('an error skips the handlers after it and is passed on, as Express does', async () => {
  const ran: number[] = [];
  const failure = new Error('refused');
  const result = await run([
    (_req, _res, next) => { ran.push(1); next(failure); },
    (_req, _res, next) => { ran.push(2); next(); },
  ]);
  assert.equal(result, failure);
  assert.deepEqual(ran, [1]);
});

test('a handler that throws or rejects passes its error on', async () => {
  const thrown = new Error('thrown');
  assert.equal(await run([() => { throw thrown; }, (_req, _res, next) => next()]), thrown);
  const rejected = new Error('rejected');
  assert.equal(await run([async () => { throw rejected; }, (_req, _res, next) => next()]), rejected);
});

test('a handler that answers and does not call next ends the series there', async () => {
  let passedOn = false;
  let second = false;
  series([(_req, _res) => undefined, (_req, _res, next) => { second = true; next(); }])(req, res, () => { passedOn = true; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(second, false);
  assert.equal(passedOn, false);
});
