import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downscopePermissions } from '../../server/tokens/downscope-permissions.ts';
import { parseScopeRequest, type ScopeRequest } from '../../server/tokens/scope-request.ts';
import { createScopeResolver } from '../../server/tokens/scope-for-request.ts';
import { AppError } from '../../server/errors/app-error.ts';
import { enumerateIds, findWidening, randomPer, seededRandom } from '../support/permission-universe.ts';

// What alice gets from policy.example.json.
const ALICE = Object.freeze({
  per: {
    '*': { 'status/*': 'R' },
    london: { 'deliveries/*': 'CRUD', 'deliveries/alice/*': 'RU', 'riders/*': 'RU', 'riders/alice': 'CRUD' },
  },
  dpv: { london: ['riders/alice'] },
});

const ask = (request: Partial<ScopeRequest>) => ({ realms: null, per: null, strict: false, ...request });

test('realm=london keeps london and narrows the * realm to london', () => {
  const out = downscopePermissions(ALICE, ask({ realms: ['london'] }));
  assert.deepEqual(out.per, { london: { ...ALICE.per.london, 'status/*': 'R' } });
  assert.deepEqual(out.dpv, { london: ['riders/alice'] });
  assert.deepEqual(out.dropped, []);
});

test('a realm with no grant of its own gets only the * realm grants', () => {
  const out = downscopePermissions(ALICE, ask({ realms: ['paris'] }));
  assert.deepEqual(out.per, { paris: { 'status/*': 'R' } });
  assert.deepEqual(out.dpv, {});
});

test('a realm nothing is granted in is reported as realm_not_granted', () => {
  const bob = { per: { london: { 'riders/*': 'R' } }, dpv: {} };
  const out = downscopePermissions(bob, ask({ realms: ['paris', 'london'] }));
  assert.deepEqual(out.per, { london: { 'riders/*': 'R' } });
  assert.deepEqual(out.dropped, [{ realm: 'paris', reason: 'realm_not_granted' }]);
});

test('a read-only request for one delivery within deliveries/* gets exactly that', () => {
  const out = downscopePermissions(ALICE, ask({ per: { london: { 'deliveries/42': 'R' } } }));
  assert.deepEqual(out.per, { london: { 'deliveries/42': 'R' } });
  assert.deepEqual(out.dropped, []);
  assert.deepEqual(out.dpv, {}, 'riders/alice is no longer covered, so it is no longer provided');
});

test('letters are intersected and the missing ones reported', () => {
  const out = downscopePermissions(ALICE, ask({ per: { london: { 'riders/bob': 'CRUD' } } }));
  assert.deepEqual(out.per, { london: { 'riders/bob': 'RU' } });
  assert.deepEqual(out.dropped, [{ realm: 'london', pattern: 'riders/bob', letters: 'CD', reason: 'not_granted' }]);
});

test('a request wider than the grant is narrowed to the granted patterns and says so', () => {
  const out = downscopePermissions(ALICE, ask({ per: { london: { '*': 'D' } } }));
  assert.deepEqual(out.per, { london: { 'deliveries/*': 'D', 'riders/alice': 'D' } });
  assert.deepEqual(out.dropped, [{ realm: 'london', pattern: '*', letters: 'D', reason: 'narrowed' }]);
});

test('a * realm request meets each granted realm; a named realm never widens to *', () => {
  const out = downscopePermissions(ALICE, ask({ per: { '*': { 'status/*': 'R', 'riders/*': 'R' } } }));
  assert.deepEqual(out.per, { '*': { 'status/*': 'R' }, london: { 'riders/*': 'R', 'riders/alice': 'R' } });
  assert.deepEqual(out.dropped, [{ realm: '*', pattern: 'riders/*', letters: 'R', reason: 'narrowed' }]);
  const named = downscopePermissions({ per: { london: { 'a/*': 'R' } }, dpv: {} }, ask({ per: { '*': { 'a/*': 'R' } } }));
  assert.equal(Object.hasOwn(named.per, '*'), false);
});

test('a request deeper than a final * is dropped (the grant may mean one segment)', () => {
  const out = downscopePermissions(ALICE, ask({ per: { london: { 'deliveries/42/status': 'R' } } }));
  assert.deepEqual(out.per, {});
  assert.deepEqual(out.dropped, [{ realm: 'london', pattern: 'deliveries/42/status', letters: 'R', reason: 'not_granted' }]);
});

test('per and realm together: per entries outside the realm list are dropped, a * realm entry is narrowed to the list', () => {
  const out = downscopePermissions(ALICE, ask({ realms: ['london'], per: { paris: { 'x': 'R' }, '*': { 'status/*': 'R' } } }));
  assert.deepEqual(out.per, { london: { 'status/*': 'R' } });
  assert.deepEqual(out.dropped, [{ realm: 'paris', pattern: 'x', letters: 'R', reason: 'realm_not_requested' }]);
});

test('a %2A in a request is a literal, never a wildcard', () => {
  const granted = { per: { london: { 'riders/%2A': 'CRUD', 'riders/*': 'R' } }, dpv: {} };
  const out = downscopePermissions(granted, ask({ per: { london: { 'riders/%2A': 'CRUD' } } }));
  assert.deepEqual(out.per, { london: { 'riders/%2A': 'CRUD' } });
  const other = downscopePermissions(granted, ask({ per: { london: { 'riders/bob': 'C' } } }));
  assert.deepEqual(other.per, {});
});

test('downscoping does not modify the frozen grant it starts from', () => {
  const frozen = structuredClone(ALICE);
  downscopePermissions(ALICE, ask({ per: { london: { '*': 'R' } }, realms: ['london'] }));
  assert.deepEqual(ALICE, frozen);
});

// Hostile and malformed requests: [query, the start of the 400 message]
const MALFORMED: ReadonlyArray<[string, string]> = [
  ['realm=..', 'realm ".." is not a realm id'],
  ['realm=*', 'realm "*" is not a realm id'],
  ['realm=lon%2Fdon', 'realm "lon/don" is not a realm id'],
  ['realm=', 'realm "" is not a realm id'],
  ['per=' + encodeURIComponent('{"london":{"riders/../admin":"R"}}'), "per.london: pattern \"riders/../admin\" has a '..' segment"],
  ['per=' + encodeURIComponent('{"london":{"riders//bob":"R"}}'), 'per.london: pattern "riders//bob" has an empty segment'],
  ['per=' + encodeURIComponent('{"london":{"riders/b*":"R"}}'), "per.london: pattern \"riders/b*\" uses '*' inside a segment"],
  ['per=' + encodeURIComponent('{"london":{"riders/{sub}":"R"}}'), 'per.london: pattern "riders/{sub}" may not contain { or }'],
  ['per=' + encodeURIComponent('{"london":{"riders/bob":"RR"}}'), 'per.london: letters must be from C R U D'],
  ['per=' + encodeURIComponent('{"london":{"riders/bob":"W"}}'), 'per.london: letters must be from C R U D'],
  ['per=' + encodeURIComponent('{"london":["riders"]}'), 'per.london must be an object'],
  ['per=' + encodeURIComponent('{"../x":{"a":"R"}}'), 'per: "../x" is not a realm id'],
  ['per=not-json', 'per is not JSON'],
  ['per=%7B%7D&per=%7B%7D', 'per may be given once'],
  ['strict=yes', 'strict must be true or false'],
  ['realms=london', 'Unknown parameter "realms"'],
  [Array.from({ length: 33 }, (_, i) => `realm=r${i}`).join('&'), 'At most 32 realm parameters'],
  ['per=' + encodeURIComponent(JSON.stringify({ london: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, 'R'])) })), 'per asks for more than 64 entries'],
  ['per=' + 'x'.repeat(9000), 'per is longer than 8192 characters'],
];

for (const [query, message] of MALFORMED) {
  test(`a malformed request is refused with 400 bad_request: ${message}`, () => {
    const parsed = parseScopeRequest(new URLSearchParams(query));
    assert.ok(parsed !== null && !parsed.ok, query);
    assert.ok(parsed.message.startsWith(message), `${parsed.message} should start with ${message}`);
    assert.throws(() => createScopeResolver()(ALICE, query), (error: unknown) => error instanceof AppError && error.code === 'bad_request');
  });
}

test('a long but valid list of requested realms is answered within bounds', () => {
  const query = Array.from({ length: 32 }, (_, i) => `realm=r${i}`).join('&');
  const scope = createScopeResolver()(ALICE, query);
  assert.equal(scope.kind, 'narrowed');
  if (scope.kind === 'narrowed') assert.equal(Object.keys(scope.per).length, 32);
});

test('strict mode refuses when anything is dropped and mints when everything is granted', () => {
  const resolver = createScopeResolver();
  const refused = resolver(ALICE, `strict=true&per=${encodeURIComponent('{"london":{"riders/bob":"CRUD"}}')}`);
  assert.equal(refused.kind, 'refused');
  const granted = resolver(ALICE, `strict=true&per=${encodeURIComponent('{"london":{"riders/bob":"R"}}')}`);
  assert.equal(granted.kind, 'narrowed');
});

test('no query string hands back the grant object itself; a repeated request shape is answered from memory', () => {
  const resolver = createScopeResolver();
  const full = resolver(ALICE, '');
  assert.ok(full.kind === 'full' && full.per === ALICE.per);
  assert.equal(resolver(ALICE, 'realm=london'), resolver(ALICE, 'realm=london'));
});

test('property: a downscoped grant never allows what the full one does not, under either reading (seeded)', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  const random = seededRandom(seed);
  const realms = ['london', 'paris', '*'];
  const alphabet = ['x', 'y'];
  const ids = enumerateIds(alphabet, 4);
  for (let i = 0; i < 300; i += 1) {
    const full = { per: randomPer(random, realms, alphabet, 5), dpv: { london: ['x/y', 'y'], paris: ['x'] } };
    const request = ask({
      realms: random() < 0.5 ? null : ['london', 'paris'].filter(() => random() < 0.6),
      per: random() < 0.3 ? null : randomPer(random, realms, alphabet, 4),
    });
    if (request.realms?.length === 0) continue;
    const out = downscopePermissions(full, request);
    const widening = findWidening(out.per, full.per, ['london', 'paris', 'other'], ids);
    assert.equal(widening, null, `seed ${seed} case ${i}: ${JSON.stringify({ full: full.per, request, out: out.per })}`);
    for (const [realm, kept] of Object.entries(out.dpv)) {
      for (const id of kept) assert.ok(full.dpv[realm as 'london']?.includes(id), `seed ${seed}: dpv ${realm} ${id} is new`);
    }
  }
});
