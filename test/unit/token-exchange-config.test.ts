import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../server/config/load-config.ts';

const BASE = {
  NODE_ENV: 'test',
  OIDC_ISSUER: 'http://localhost:3001',
  OIDC_CLIENT_ID: 'client',
  OIDC_CLIENT_SECRET: 'client-secret',
  SESSION_SECRET: 'Vq3r8ZtK1mXwP0sLd7FhJ2nYcB6gA9eU',
  HIVEKIT_TENANT_ID: 'tenant',
  HIVEKIT_SECRET: Buffer.alloc(32, 7).toString('base64'),
  HIVEKIT_SECRET_ID: 'kid-1',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

describe('token exchange settings', () => {
  it('token exchange is off while TOKEN_EXCHANGE_AUDIENCE is unset', () => {
    assert.equal(loadConfig(BASE).tokenExchange, undefined);
  });

  it('TOKEN_EXCHANGE_AUDIENCE turns it on, introspection off and 60 exchanges per subject per minute by default', () => {
    assert.deepEqual(loadConfig({ ...BASE, TOKEN_EXCHANGE_AUDIENCE: 'https://bff.example.com' }).tokenExchange,
      { audience: 'https://bff.example.com', introspection: false, perMinute: 60 });
    assert.deepEqual(loadConfig({
      ...BASE, TOKEN_EXCHANGE_AUDIENCE: 'urn:bff', TOKEN_EXCHANGE_INTROSPECTION: 'true', RATE_LIMIT_EXCHANGE_PER_MINUTE: '5',
    }).tokenExchange, { audience: 'urn:bff', introspection: true, perMinute: 5 });
  });

  it('lists every problem at once, naming the variable', () => {
    const problems = problemsOf({
      ...BASE, TOKEN_EXCHANGE_AUDIENCE: 'urn:b\u00fcff', TOKEN_EXCHANGE_INTROSPECTION: 'yes', RATE_LIMIT_EXCHANGE_PER_MINUTE: '0',
    });
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems.find((p) => p.startsWith('TOKEN_EXCHANGE_AUDIENCE:'))!, /printable ASCII/);
    assert.match(problems.find((p) => p.startsWith('TOKEN_EXCHANGE_INTROSPECTION:'))!, /"true" or "false"/);
    assert.ok(problems.some((p) => p.startsWith('RATE_LIMIT_EXCHANGE_PER_MINUTE:')));
  });

  it('introspection without an audience is a problem: it would switch on nothing', () => {
    assert.deepEqual(problemsOf({ ...BASE, TOKEN_EXCHANGE_INTROSPECTION: 'true' }),
      ['TOKEN_EXCHANGE_INTROSPECTION: true, but token exchange is off; set TOKEN_EXCHANGE_AUDIENCE too']);
  });
});
