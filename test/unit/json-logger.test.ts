import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createJsonLogger } from '../../server/logging/logger.ts';

function recordingLogger() {
  const writes: string[] = [];
  const logger = createJsonLogger((text) => { writes.push(text); });
  const lines = () => writes.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, writes, lines };
}

test('info lines of one event-loop turn leave in a single write at the end of the turn', async () => {
  const { logger, writes, lines } = recordingLogger();
  logger.info('request', { status: 200 });
  logger.info('request', { status: 401 });
  assert.equal(writes.length, 0);
  await nextTurn();
  assert.equal(writes.length, 1);
  assert.deepEqual(lines().map((line) => line.status), [200, 401]);
});

test('a warning or an error is written at once, after the info lines before it, in order', () => {
  const { logger, writes, lines } = recordingLogger();
  logger.info('request', { n: 1 });
  logger.warn('session_touch_failed', { n: 2 });
  assert.equal(writes.length, 1);
  logger.error('unhandled_rejection', { n: 3 });
  assert.equal(writes.length, 2);
  assert.deepEqual(lines().map((line) => [line.level, line.n]), [['info', 1], ['warn', 2], ['error', 3]]);
});

test('flush writes pending info lines synchronously, and nothing when none are pending', () => {
  const { logger, writes, lines } = recordingLogger();
  logger.flush();
  assert.equal(writes.length, 0);
  logger.info('stopped');
  logger.flush();
  assert.equal(writes.length, 1);
  assert.equal(lines()[0]!.event, 'stopped');
});

test('secret fields are redacted and fields named like a line key cannot overwrite it', () => {
  const { logger, lines } = recordingLogger();
  logger.error('oops', { token: 'eyJ.secret', idToken: 'eyJ.id', password: 'pw', level: 'fake', event: 'fake', sub: 'alice' });
  const [line] = lines();
  assert.equal(line!.level, 'error');
  assert.equal(line!.event, 'oops');
  assert.equal(line!.field_level, 'fake');
  assert.equal(line!.field_event, 'fake');
  assert.equal(line!.token, '[redacted]');
  assert.equal(line!.idToken, '[redacted]');
  assert.equal(line!.password, '[redacted]');
  assert.equal(line!.sub, 'alice');
  assert.match(String(line!.time), /^\d{4}-\d\d-\d\dT/);
});
