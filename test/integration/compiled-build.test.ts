import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { buildDist, startCompiled, type CompiledProduct } from '../support/compiled-product.ts';
import { CookieJar, hop } from '../support/http-hop.ts';
import { startTestProvider, type TestProvider } from '../support/oidc-test-provider.ts';
import { freePort, PROJECT_ROOT } from '../support/start-product.ts';

const HIVEKIT_SECRET = randomBytes(32);

describe('the compiled build (npm run build, then node dist/server/main.js) in production', () => {
  let dir: string;
  let provider: TestProvider;
  let product: CompiledProduct;
  const modulesFile = () => join(dir, 'modules.txt');

  before(async () => {
    await buildDist();
    dir = await mkdtemp(join(tmpdir(), 'compiled-build-'));
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    provider = await startTestProvider({ redirectUri: `${publicUrl}/oauth2/redirect`, postLogoutRedirectUri: `${publicUrl}/` });
    product = await startCompiled({
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      DATA_DIR: dir,
      HIVEKIT_TENANT_ID: 'compiled-tenant',
      HIVEKIT_SECRET: HIVEKIT_SECRET.toString('base64'),
      HIVEKIT_SECRET_ID: 'compiled-kid',
      RECORD_LOADED_MODULES: modulesFile(),
    }, { nodeArgs: ['--import', './test/support/record-loaded-modules.mjs'] });
  });

  after(async () => {
    if (product && product.child.exitCode === null) { product.child.kill('SIGKILL'); await product.exited; }
    await provider?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts without tsx and without dev mode\'s modules, and is ready at once', async () => {
    const commandLine = (await readFile(`/proc/${product.child.pid}/cmdline`, 'utf8')).split('\0').join(' ');
    assert.match(commandLine, /dist\/server\/main\.js/);
    assert.doesNotMatch(commandLine, /tsx/);
    const modules = (await readFile(modulesFile(), 'utf8')).split('\n').filter(Boolean);
    assert.ok(modules.some((url) => url.endsWith('/dist/server/main.js')), 'the recorder saw the entry point');
    assert.deepEqual(modules.filter((url) => /\/node_modules\/(tsx|esbuild|oidc-provider)\//.test(url)), []);
    assert.deepEqual(modules.filter((url) => /\/dist\/server\/dev\/(dev-mode|embedded-provider)\.js$/.test(url) || url.endsWith('.ts')), []);
    assert.equal((await hop(`${product.url}/readyz`)).status, 200);
    process.stdout.write(`# compiled build: ${Math.round(product.startMs)} ms from spawn to listening\n`);
  });

  it('answers a full login, a token and a logout', async () => {
    const jar = new CookieJar();
    const start = await hop(`${product.url}/login?returnTo=/`, { jar });
    assert.equal(start.status, 302, start.text);
    const { callbackUrl } = await provider.login(start.location!);
    const callback = await hop(callbackUrl, { jar });
    assert.equal(callback.status, 303, callback.text);
    assert.equal(callback.location, `${product.url}/`);
    const token = await hop(`${product.url}/hivekit-access-token`, { jar });
    assert.equal(token.status, 200, token.text);
    const claims = jwt.verify((token.json as { token: string }).token, HIVEKIT_SECRET, { algorithms: ['HS256'], complete: true });
    assert.equal(claims.header.kid, 'compiled-kid');
    assert.equal((claims.payload as jwt.JwtPayload).sub, 'alice');
    const page = await hop(`${product.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<html/i, 'the demo page is served from public/ by the compiled build');
    const logout = await hop(`${product.url}/logout`, { jar, method: 'POST', headers: { origin: product.url } });
    assert.equal(logout.status, 303);
    assert.equal((await hop(`${product.url}/hivekit-access-token`, { jar })).status, 401);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    product.child.kill('SIGTERM');
    assert.equal(await product.exited, 0, product.output());
    assert.match(product.output(), /"event":"stopped"/);
    assert.ok(PROJECT_ROOT);
  });
});
