import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBanner } from '../../server/dev/format-banner.ts';

const banner = formatBanner({
  publicUrl: 'http://localhost:3000',
  issuer: 'http://127.0.0.1:3001',
  dataDir: '/home/dev/app/data',
  secretsCreated: true,
  users: [
    { username: 'alice', password: 'alice-pw', name: 'Alice Example', email: 'alice@example.com', email_verified: true, groups: ['dispatchers', 'riders'] },
    { username: 'bob', password: 'bob-pw', name: 'Bob Example', email: 'bob@example.com', email_verified: true, groups: [] },
  ],
});

test('the banner says what runs where', () => {
  assert.match(banner, /DEV MODE/);
  assert.match(banner, /App +http:\/\/localhost:3000\n/);
  assert.match(banner, /Embedded OpenID provider +http:\/\/127\.0\.0\.1:3001 /);
  assert.match(banner, /Data folder +\/home\/dev\/app\/data .*generated now/);
});

test('the banner lists each demo user with password and groups on one line', () => {
  assert.match(banner, /^ {2}alice +alice-pw +Alice Example +dispatchers, riders$/m);
  assert.match(banner, /^ {2}bob +bob-pw +Bob Example +\(none\)$/m);
});

test('the banner names every variable to set for a real provider and Hivekit tenant, and the callback URL', () => {
  for (const name of ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'HIVEKIT_TENANT_ID', 'HIVEKIT_SECRET', 'HIVEKIT_SECRET_ID', 'SESSION_SECRET']) {
    assert.match(banner, new RegExp(`^ {2}${name}=`, 'm'), name);
  }
  assert.match(banner, /redirect \(callback\) URL +http:\/\/localhost:3000\/oauth2\/redirect$/m);
  assert.match(banner, /post-logout redirect URL +http:\/\/localhost:3000\/$/m);
});

test('the banner holds no secret other than the demo passwords', () => {
  assert.doesNotMatch(banner, /[A-Za-z0-9+/]{40,}/);
});
