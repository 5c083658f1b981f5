import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startProduct } from '../support/start-product.ts';

describe('start-up warnings of the real process', () => {
  let dataDir: string;
  before(async () => { dataDir = await mkdtemp(join(tmpdir(), 'start-warnings-')); });
  after(async () => { await rm(dataDir, { recursive: true, force: true }); });

  it('TRUST_PROXY=true starts, with one warning line saying X-Forwarded-For can be forged and what to set instead', async () => {
    const product = await startProduct({
      DATA_DIR: join(dataDir, 'data'), TRUST_PROXY: 'true',
    });
    try {
      const warnings = product.output().split('\n').filter((line) => line.includes('"event":"config_warning"')).map((line) => JSON.parse(line) as Record<string, string>);
      assert.equal(warnings.length, 1, product.output());
      assert.equal(warnings[0]!.level, 'warn');
      assert.equal(warnings[0]!.setting, 'TRUST_PROXY');
      assert.match(warnings[0]!.message!, /X-Forwarded-For.*hop count/);
    } finally {
      await product.stop();
    }
  });
});
