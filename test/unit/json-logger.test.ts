import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createJsonLogger, createMemoryLogger, isoTimeOncePerMillisecond, type LogLevel } from '../../server/logging/logger.ts';

function recordingLogger(level?: LogLevel) {
  const writes: string[] = [];
  const logger = createJsonLogger({ write: (text) => { writes.push(text); }, ...(level ? { level } : {}) });
  const lines = () => writes.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, writes, lines };
}

test('a line is one JSON object: level as a word, ISO time, event first among the fields', () => {
  const { logger, writes, lines } = recordingLogger();
  logger.info('login', { sub: 'alice' });
  assert.match(writes[0]!, /^\{"level":"info","time":"\d{4}-\d\d-\d\dT[^"]+","event":"login","sub":"alice"\}\n$/);
  assert.deepEqual(Object.keys(lines()[0]!), ['level', 'time', 'event', 'sub']);
});

test('secret fields are redacted at the top of a line and one level down, and fields named like a line key cannot overwrite it', () => {
  const { logger, lines } = recordingLogger();
  logger.error('oops', {
    token: 'eyJ.secret', idToken: 'eyJ.id', password: 'pw', cookie: 'hivekit.sid=s%3Aabc', level: 'fake', event: 'fake', time: 'fake', sub: 'alice',
    request: { authorization: 'Bearer eyJ.x', state: 'st4te', path: '/login' },
  });
  const [line] = lines();
  assert.equal(line!.level, 'error');
  assert.equal(line!.event, 'oops');
  assert.equal(line!.field_level, 'fake');
  assert.equal(line!.field_event, 'fake');
  assert.equal(line!.field_time, 'fake');
  for (const key of ['token', 'idToken', 'password', 'cookie']) assert.equal(line![key], '[redacted]', key);
  assert.deepEqual(line!.request, { authorization: '[redacted]', state: '[redacted]', path: '/login' });
  assert.equal(line!.sub, 'alice');
});

test('an OAuth code is redacted where it is one (request parameters); an error code stays readable', () => {
  const { logger, lines } = recordingLogger();
  logger.warn('login_refused', { code: 'provider_unavailable', query: { code: 'SplxlOBeZQQYbYS6WxSbIA', iss: 'https://idp' }, body: { code: 'c0de' } });
  const [line] = lines();
  assert.equal(line!.code, 'provider_unavailable');
  assert.deepEqual(line!.query, { code: '[redacted]', iss: 'https://idp' });
  assert.deepEqual(line!.body, { code: '[redacted]' });
});

test('LOG_LEVEL drops the less severe lines', () => {
  const { logger, lines } = recordingLogger('warn');
  logger.info('request', { status: 200 });
  logger.warn('redis_unavailable', {});
  logger.error('request_failed', {});
  assert.deepEqual(lines().map((line) => line.event), ['redis_unavailable', 'request_failed']);
});

test('a child logger adds its bindings to every line, the parent\'s lines stay without them', () => {
  const { logger, lines } = recordingLogger();
  const child = logger.child({ reqId: 'abc-1' });
  child.info('login', { sub: 'alice' });
  child.child({ step: 'callback' }).warn('login_refused', { error: 'access_denied' });
  logger.info('listening', {});
  assert.deepEqual(lines().map((line) => [line.event, line.reqId, line.step]), [['login', 'abc-1', undefined], ['login_refused', 'abc-1', 'callback'], ['listening', undefined, undefined]]);
});

test('the memory logger records lines as the JSON logger writes them (same redaction, bindings in fields)', () => {
  const logger = createMemoryLogger();
  logger.child({ reqId: 'r-1' }).warn('request_refused', { code: 'rate_limited', token: 'eyJ.x', status: 429 });
  assert.deepEqual(logger.entries, [{ level: 'warn', event: 'request_refused', fields: { reqId: 'r-1', code: 'rate_limited', token: '[redacted]', status: 429 } }]);
});

test('flush on a stream destination is harmless', () => {
  const { logger } = recordingLogger();
  logger.flush();
});

test('the time of a line is its own millisecond: formatted once per millisecond, never reused for the next one', () => {
  let clock = Date.parse('2026-12-07T10:00:00.000Z');
  const time = isoTimeOncePerMillisecond(() => clock);
  assert.equal(time(), ',"time":"2026-12-07T10:00:00.000Z"');
  assert.equal(time(), ',"time":"2026-12-07T10:00:00.000Z"');
  clock += 1;
  assert.equal(time(), ',"time":"2026-12-07T10:00:00.001Z"');
  clock += 59_999;
  assert.equal(time(), ',"time":"2026-12-07T10:01:00.000Z"');
});
