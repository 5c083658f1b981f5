import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHivekitSecretFile, type SecretFileChecks } from '../../server/config/hivekit-secret-file.ts';

const SECRET = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
const PATH = '/etc/bff/hivekit-secret.json';
const production: SecretFileChecks = { isProduction: true, otherSecrets: { sessionSecrets: ['s'.repeat(40)], clientSecret: 'client-secret' } };
const testing: SecretFileChecks = { ...production, isProduction: false };
const file = (fields: Record<string, unknown>) => JSON.stringify(fields);
const problemsOf = (text: string, mode = 0o100600, checks = production) => {
  const result = parseHivekitSecretFile(PATH, text, mode, checks);
  return result.ok ? [] : [...result.problems];
};

describe('HIVEKIT_SECRET_FILE contents', () => {
  it('gives the kid and the decoded secret of an owner-only file', () => {
    for (const mode of [0o100600, 0o100400]) {
      const result = parseHivekitSecretFile(PATH, file({ kid: 'kid-2', secret: SECRET.toString('base64') }), mode, production);
      assert.ok(result.ok);
      assert.equal(result.key.kid, 'kid-2');
      assert.ok(result.key.secret.equals(SECRET));
    }
  });

  const refused: Array<[string, string, number, SecretFileChecks, RegExp]> = [
    ['a group-readable file, naming it and the chmod fix', file({ kid: 'k', secret: SECRET.toString('base64') }), 0o100640, testing,
      /^HIVEKIT_SECRET_FILE: \/etc\/bff\/hivekit-secret\.json is open to group or others \(mode 0640\); make it owner-only: chmod 600 "\/etc\/bff\/hivekit-secret\.json"$/],
    ['a world-readable file', file({ kid: 'k', secret: SECRET.toString('base64') }), 0o100644, testing, /mode 0644.*chmod 600/],
    ['text that is not JSON', '{"kid": "k", "secret": ', 0o100600, testing, /is not valid JSON; expected \{"kid"/],
    ['a JSON array', '[]', 0o100600, testing, /is not a JSON object/],
    ['a missing kid', file({ secret: SECRET.toString('base64') }), 0o100600, testing, /"kid" must be a non-empty string/],
    ['a kid with a line break', file({ kid: 'k\n1', secret: SECRET.toString('base64') }), 0o100600, testing, /"kid" must be a non-empty string of printable ASCII/],
    ['an unknown field (a typo of kid)', file({ keyId: 'k', kid: 'k', secret: SECRET.toString('base64') }), 0o100600, testing, /unknown field\(s\) "keyId"/],
    ['a secret in URL-safe base64', file({ kid: 'k', secret: Buffer.alloc(33, 251).toString('base64url') }), 0o100600, testing, /"secret": not strict base64/],
    ['a secret of 31 bytes', file({ kid: 'k', secret: Buffer.alloc(31, 1).toString('base64') }), 0o100600, testing, /"secret": decodes to 31 bytes; HS256 needs at least 32/],
    ['a weak secret in production', file({ kid: 'k', secret: Buffer.alloc(32).toString('base64') }), 0o100600, production, /"secret": decodes to only 1 distinct byte value/],
    ['a secret that is also the client secret in production', file({ kid: 'k', secret: SECRET.toString('base64') }), 0o100600,
      { isProduction: true, otherSecrets: { sessionSecrets: [], clientSecret: SECRET.toString('base64') } }, /^OIDC_CLIENT_SECRET: is also HIVEKIT_SECRET_FILE/],
  ];
  for (const [name, text, mode, checks, expected] of refused) {
    it(`refuses ${name}`, () => {
      const problems = problemsOf(text, mode, checks);
      assert.ok(problems.some((problem) => expected.test(problem)), problems.join('\n'));
    });
  }

  it('accepts a weak secret outside production, as HIVEKIT_SECRET is', () => {
    assert.deepEqual(problemsOf(file({ kid: 'k', secret: Buffer.alloc(32).toString('base64') }), 0o100600, testing), []);
  });

  it('never repeats the file\'s text or secret in a problem, even for broken JSON around it', () => {
    const secretText = SECRET.toString('base64');
    for (const text of [`{"kid": "k", "secret": "${secretText}"`, `{"kid": "k", "secret": "${secretText}", }`, file({ kid: 'k', secret: `${secretText}!` })]) {
      const problems = problemsOf(text, 0o100644);
      assert.ok(problems.length > 0);
      assert.doesNotMatch(problems.join('\n'), new RegExp(secretText.slice(0, 12).replace(/[+/]/g, '\\$&')));
    }
  });
});
