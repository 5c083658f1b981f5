import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { createTokenSigner, fixedKey } from '../../server/tokens/create-token-signer.ts';

const SECRET = Buffer.alloc(32, 9);
const base = { keys: fixedKey({ secret: SECRET, kid: 'kid-1' }), issuer: 'platform.hivekit.io', tenantId: 'tenant-1', ttlSeconds: 900, now: () => 1_700_000_000_500 };

describe('createTokenSigner', () => {
  it('mints an HS256 token with the kid header and exactly the contract claims', () => {
    const minted = createTokenSigner(base).mint('auth0|alice', { london: { 'riders/*': 'R' } }, { london: ['riders/alice'] });
    const decoded = jwt.decode(minted.token, { complete: true })!;
    assert.deepEqual(decoded.header, { alg: 'HS256', typ: 'JWT', kid: 'kid-1' });
    const claims = jwt.verify(minted.token, SECRET, { algorithms: ['HS256'], clockTimestamp: 1_700_000_000 }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(claims).sort(), ['dpv', 'exp', 'iat', 'iss', 'jti', 'per', 'sub', 'tnd']);
    assert.equal(claims.iat, 1_700_000_000);
    assert.equal(claims.exp, 1_700_000_900);
    assert.equal(minted.expiresAt, 1_700_000_900);
    assert.equal(claims.tnd, 'tenant-1');
    assert.equal(claims.iss, 'platform.hivekit.io');
    assert.equal(claims.sub, 'auth0|alice');
    assert.equal(claims.jti, minted.jti);
  });

  it('mints tokens that jose verifies too, non-ASCII claims included (UTF-8 JSON, base64url without padding)', async () => {
    const per = { 'zürich': { 'riders/é/*': 'R' } };
    const minted = createTokenSigner(base).mint('ユーザー|1', per, {});
    assert.doesNotMatch(minted.token, /[=+/]/);
    const { payload, protectedHeader } = await jwtVerify(minted.token, new Uint8Array(SECRET), { algorithms: ['HS256'], currentDate: new Date(1_700_000_000_500) });
    assert.deepEqual(protectedHeader, { alg: 'HS256', typ: 'JWT', kid: 'kid-1' });
    assert.equal(payload.sub, 'ユーザー|1');
    assert.deepEqual(payload.per, per);
    const tampered = `${minted.token.slice(0, -2)}${minted.token.endsWith('AA') ? 'AB' : 'AA'}`;
    await assert.rejects(jwtVerify(tampered, new Uint8Array(SECRET), { algorithms: ['HS256'], currentDate: new Date(1_700_000_000_500) }), /signature/);
  });

  it('gives every token a different jti', () => {
    const signer = createTokenSigner(base);
    const ids = new Set(Array.from({ length: 100 }, () => signer.mint('a', {}, {}).jti));
    assert.equal(ids.size, 100);
  });

  it('refuses a key under 32 bytes, which jsonwebtoken itself would accept', () => {
    assert.throws(() => createTokenSigner({ ...base, keys: fixedKey({ secret: Buffer.alloc(31), kid: 'kid-1' }) }), /at least 32 bytes/);
    assert.throws(() => createTokenSigner({ ...base, keys: fixedKey({ secret: Buffer.alloc(0), kid: 'kid-1' }) }), /at least 32 bytes/);
  });

  it('signs with the key its source holds at each mint: a rotated key signs from the next token on', () => {
    const NEW_SECRET = Buffer.alloc(32, 7);
    let key = { secret: SECRET, kid: 'kid-1' };
    const signer = createTokenSigner({ ...base, keys: { current: () => key } });
    const before = signer.mint('a', {}, {}).token;
    key = { secret: NEW_SECRET, kid: 'kid-2' };
    const after = signer.mint('a', {}, {}).token;
    const verify = (token: string, secret: Buffer) => jwt.verify(token, secret, { algorithms: ['HS256'], clockTimestamp: 1_700_000_000, complete: true });
    assert.equal(verify(before, SECRET).header.kid, 'kid-1');
    assert.equal(verify(after, NEW_SECRET).header.kid, 'kid-2');
    assert.throws(() => verify(after, SECRET), /invalid signature/);
  });

  it('refuses a TTL of 0 or outside 60..86400 seconds', () => {
    for (const ttlSeconds of [0, 59, 86_401, 1.5]) {
      assert.throws(() => createTokenSigner({ ...base, ttlSeconds }), /TTL/);
    }
  });

  it('refuses to mint a token over the size cap', () => {
    const signer = createTokenSigner({ ...base, maxTokenBytes: 500 });
    const per = { london: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`objects/${i}`, 'CRUD'])) };
    assert.throws(() => signer.mint('a', per, {}), (error: Error & { code?: string }) => error.code === 'token_too_large');
  });
});
