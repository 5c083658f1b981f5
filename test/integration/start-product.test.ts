import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hop } from '../support/http-hop.ts';
import { freePort, startProduct } from '../support/start-product.ts';

/** A port another process has taken: what a port chosen as free can become before the product binds it. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}

describe('startProduct on ports chosen as free', () => {
  let dataDir: string;
  before(async () => { dataDir = await mkdtemp(join(tmpdir(), 'start-product-')); });
  after(async () => { await rm(dataDir, { recursive: true, force: true }); });

  for (const [variable, takenAt] of [['PORT', 0], ['DEV_OIDC_PORT', 1]] as const) {
    it(`a ${variable} taken by another process after it was chosen: the product starts on newly chosen ports`, async () => {
      const taken = await takenPort();
      let calls = 0;
      // The first choice of `variable` is the taken port, as if another process took it in between.
      const choosePort = async () => (calls++ === takenAt ? taken.port : freePort());
      const product = await startProduct({ DATA_DIR: join(dataDir, variable) }, { choosePort }).finally(() => taken.server.close());
      try {
        assert.notEqual(product.env[variable], String(taken.port));
        assert.ok(calls >= 4, `ports were chosen ${calls} times: not started a second time`);
        assert.equal((await hop(`${product.url}/healthz`)).status, 200);
      } finally {
        await product.stop();
      }
    });
  }

  it('a port given in the environment is kept: a clash there fails the start and names the port', async () => {
    const taken = await takenPort();
    try {
      await assert.rejects(startProduct({ DATA_DIR: join(dataDir, 'given'), PORT: String(taken.port) }), new RegExp(`port ${taken.port} .* already in use`));
    } finally {
      taken.server.close();
    }
  });
});
