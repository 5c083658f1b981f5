import assert from 'node:assert/strict';
import { test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { redirectToPublicOrigin } from '../../server/http/redirect-to-public-origin.ts';

function app() {
  const built = express();
  built.use(redirectToPublicOrigin('http://localhost:3000'));
  built.use((_req, res) => { res.send('served here'); });
  return built;
}

test('a page asked for at 127.0.0.1 is redirected to PUBLIC_URL\'s origin with its path and query, before any cookie', async () => {
  const response = await request(app()).get('/login?returnTo=/x').set('Host', '127.0.0.1:3000');
  assert.equal(response.status, 302);
  assert.equal(response.headers.location, 'http://localhost:3000/login?returnTo=/x');
  assert.equal(response.headers['set-cookie'], undefined);
});

test('PUBLIC_URL\'s own host, health checks and non-GET requests are served where they arrive', async () => {
  assert.equal((await request(app()).get('/').set('Host', 'localhost:3000')).text, 'served here');
  assert.equal((await request(app()).get('/healthz').set('Host', '127.0.0.1:3000')).status, 200);
  assert.equal((await request(app()).post('/logout').set('Host', '127.0.0.1:3000')).status, 200);
});

test('a request target naming another host never turns into a redirect there', async () => {
  const response = await request(app()).get('//evil.example/x').set('Host', '127.0.0.1:3000');
  assert.notEqual(response.status, 302);
});
