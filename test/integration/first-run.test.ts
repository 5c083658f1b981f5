import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { completeProviderLogin } from '../support/oidc-test-provider.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { freePort, runProductToExit, startProduct } from '../support/start-product.ts';

const DEMO_USERS = JSON.parse(await readFile(new URL('../../server/dev/demo-users.json', import.meta.url), 'utf8')) as { users?: Array<{ username: string; password: string }> } | Array<{ username: string; password: string }>;
const alice = (Array.isArray(DEMO_USERS) ? DEMO_USERS : DEMO_USERS.users ?? []).find((u) => u.username === 'alice')!;

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

describe('first run: `npm start` with no configuration at all', () => {
  let dataDir: string;
  before(async () => { dataDir = await mkdtemp(join(tmpdir(), 'first-run-')); });
  after(async () => { await rm(dataDir, { recursive: true, force: true }); });

  it('starts an embedded provider, logs a demo user in hop by hop, mints a token with the generated secret, and keeps the session across a restart', async () => {
    const first = await startProduct({ DATA_DIR: join(dataDir, 'data') });
    const { env } = first;
    let second: Awaited<ReturnType<typeof startProduct>> | undefined;
    try {
      assert.match(first.output(), /DEV MODE/);
      assert.match(first.output(), new RegExp(`Embedded OpenID provider\\s+http://localhost:${env.DEV_OIDC_PORT}`));
      const secretsFile = join(env.DATA_DIR, 'dev-secrets.json');
      assert.equal((await stat(secretsFile)).mode & 0o777, 0o600);

      const jar = new CookieJar();
      const page = await hop(`${first.url}/`);
      assert.equal(page.status, 200);
      const start = await hop(`${first.url}/login?returnTo=/`, { jar });
      assert.equal(start.status, 302);
      assert.ok(start.location!.startsWith(`http://localhost:${env.DEV_OIDC_PORT}/`));
      const { callbackUrl, hops } = await completeProviderLogin(start.location!, alice);
      assert.deepEqual(hops.map((h) => h.status), [303, 200, 303, 303]);
      const finish = await hop(callbackUrl, { jar });
      assert.equal(finish.location, `${first.url}/`);

      const secrets = JSON.parse(await readFile(secretsFile, 'utf8')) as { hivekitSecret: string; hivekitSecretId: string; hivekitTenantId: string };
      const verifyToken = async (url: string) => {
        const response = await hop(`${url}/hivekit-access-token`, { jar });
        assert.equal(response.status, 200);
        const { token } = response.json as { token: string };
        const decoded = jwt.verify(token, Buffer.from(secrets.hivekitSecret, 'base64'), { algorithms: ['HS256'], complete: true });
        assert.equal(decoded.header.kid, secrets.hivekitSecretId);
        const claims = decoded.payload as Record<string, unknown>;
        assert.equal(claims.sub, 'alice');
        assert.equal(claims.tnd, secrets.hivekitTenantId);
        assert.ok(Object.keys(claims.per as object).length > 0, 'dev mode applies the example policy');
      };
      await verifyToken(first.url);

      await first.stop();
      assert.match(first.output(), /"event":"stopped"/);
      second = await startProduct(env);
      assert.match(second.output(), /secrets reused/);
      await verifyToken(second.url);
    } finally {
      await first.stop();
      await second?.stop();
    }
  });

  it('in production the same empty environment exits non-zero, names every missing variable, and never listens', async () => {
    const port = await freePort();
    const { code, output } = await runProductToExit({ NODE_ENV: 'production', PORT: String(port), DATA_DIR: join(dataDir, 'prod') });
    assert.notEqual(code, 0);
    for (const name of ['PUBLIC_URL', 'OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'SESSION_SECRET', 'HIVEKIT_TENANT_ID', 'HIVEKIT_SECRET', 'HIVEKIT_SECRET_ID']) {
      assert.match(output, new RegExp(`${name}: missing`));
    }
    assert.doesNotMatch(output, /"event":"listening"|DEV MODE|at .*\.ts:\d+/);
    assert.equal(await isListening(port), false);
  });

  it('a taken port gets a one-line explanation and a non-zero exit, not a stack trace', async () => {
    // Held from the start: a port that is merely free could be taken by anyone before the blocker binds it.
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      const { code, output } = await runProductToExit({ PORT: String(port), DEV_OIDC_PORT: String(await freePort()), DATA_DIR: join(dataDir, 'taken') });
      assert.notEqual(code, 0);
      assert.match(output, new RegExp(`port ${port} .* already in use`));
      assert.doesNotMatch(output, /\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('an unwritable data folder gets a one-line explanation and a non-zero exit', async () => {
    // Tests run as root, which ignores permission bits: a file standing where the folder should be is what cannot be written.
    const blocker = join(dataDir, 'a-file');
    await writeFile(blocker, 'not a folder');
    const { code, output } = await runProductToExit({ PORT: String(await freePort()), DEV_OIDC_PORT: String(await freePort()), DATA_DIR: join(blocker, 'data') });
    assert.notEqual(code, 0);
    assert.match(output, /Cannot start: .*a-file\/data/);
    assert.doesNotMatch(output, /\n\s+at /);
  });
});
