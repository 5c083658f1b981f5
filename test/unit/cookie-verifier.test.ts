import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sign } from 'cookie-signature';
import { createCookieVerifier, createSessionCookie, sessionIdFromCookie } from '../../server/sessions/session-cookie.ts';

const secrets = ['current-secret-0123456789abcdef0123', 'older-secret-0123456789abcdef012345'];
const cookieOf = (sid: string, secret: string) => `s:${sign(sid, secret)}`;

test('a session cookie signed with any secret of the rotation list yields its session id, again and again', () => {
  const verify = createCookieVerifier(secrets);
  for (let i = 0; i < 3; i += 1) {
    assert.equal(verify(cookieOf('sid-new', secrets[0]!)), 'sid-new');
    assert.equal(verify(cookieOf('sid-old', secrets[1]!)), 'sid-old');
  }
});

test('forged, tampered and unsigned cookies yield no session, even after the genuine one was seen', () => {
  const verify = createCookieVerifier(secrets, 1);
  const genuine = cookieOf('sid-1', secrets[0]!);
  assert.equal(verify(genuine), 'sid-1');
  assert.equal(verify(cookieOf('sid-1', 'someone-elses-secret-0123456789abcdef')), undefined);
  assert.equal(verify(genuine.replace('sid-1', 'sid-2')), undefined);
  assert.equal(verify(genuine.slice(2)), undefined);
  assert.equal(verify('s:sid-1'), undefined);
  assert.equal(verify(''), undefined);
});

test('the session id is read from the named cookie among others; a malformed header is no session', () => {
  const verify = createCookieVerifier(secrets);
  const header = `theme=dark; hivekit.sid=${encodeURIComponent(cookieOf('sid-1', secrets[0]!))}; other=1`;
  assert.equal(sessionIdFromCookie(header, 'hivekit.sid', verify), 'sid-1');
  assert.equal(sessionIdFromCookie(header, '__Host-hivekit.sid', verify), undefined);
  assert.equal(sessionIdFromCookie(undefined, 'hivekit.sid', verify), undefined);
  assert.equal(sessionIdFromCookie('hivekit.sid=%E0%A4%A', 'hivekit.sid', verify), undefined);
});

test('the session cookie is __Host- over https, reads only its own name, and keeps the attributes it is cleared with', () => {
  const https = createSessionCookie({ secure: true, secrets, absoluteTimeoutSeconds: 3600 });
  const http = createSessionCookie({ secure: false, secrets, absoluteTimeoutSeconds: 3600 });
  assert.equal(https.name, '__Host-hivekit.sid');
  assert.deepEqual(https.attributes, { path: '/', httpOnly: true, secure: true, sameSite: 'lax' });
  assert.equal(http.name, 'hivekit.sid');
  assert.equal(http.maxAgeMs, 3_600_000);
  const value = encodeURIComponent(cookieOf('sid-1', secrets[1]!));
  assert.equal(https.sessionIdOf(`__Host-hivekit.sid=${value}`), 'sid-1');
  assert.equal(https.sessionIdOf(`hivekit.sid=${value}`), undefined);
});
