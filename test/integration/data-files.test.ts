import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, startProduct, runProductToExit } from '../support/start-product.ts';

describe('the data folder while `npm start` runs in dev mode', () => {
  const folders: string[] = [];
  after(async () => { for (const folder of folders) await rm(folder, { recursive: true, force: true }); });
  const dataFolder = async () => {
    const folder = await mkdtemp(join(tmpdir(), 'hivekit-data-'));
    folders.push(folder);
    return folder;
  };

  it('a sessions.db that is not an SQLite database stops the start with the file and what to do, not SQLITE_NOTADB', async () => {
    const dataDir = await dataFolder();
    await writeFile(join(dataDir, 'sessions.db'), 'this is a shopping list, not a database\n'.repeat(20));
    const { code, output } = await runProductToExit({ DATA_DIR: dataDir, PORT: String(await freePort()), DEV_OIDC_PORT: String(await freePort()) });
    assert.equal(code, 1);
    assert.match(output, new RegExp(`session database ${join(dataDir, 'sessions.db').replace(/[.]/g, '\\.')} \\(SESSION_DB\\) is not an SQLite database`));
    assert.match(output, /Move it away .* or set SESSION_DB to another file/);
    assert.doesNotMatch(output, /SQLITE_NOTADB/);
  });

  it('deleting the session database and the dev secrets while running is logged as a warning naming each file', async () => {
    const dataDir = await dataFolder();
    const product = await startProduct({ DATA_DIR: dataDir });
    try {
      // The session database is created after the watcher starts; its first poll (5 s) sees it there.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      await unlink(join(dataDir, 'sessions.db'));
      await unlink(join(dataDir, 'dev-secrets.json'));
      const deadline = Date.now() + 15_000;
      while ((product.output().match(/"event":"data_file_missing"/g) ?? []).length < 2) {
        if (Date.now() > deadline) assert.fail(`no warnings:\n${product.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const warnings = product.output().split('\n').filter((line) => line.includes('"event":"data_file_missing"')).map((line) => JSON.parse(line) as Record<string, string>);
      assert.deepEqual(warnings.map((w) => [w.level, w.file]).sort(), [
        ['warn', join(dataDir, 'dev-secrets.json')], ['warn', join(dataDir, 'sessions.db')],
      ]);
    } finally {
      await product.stop();
    }
  });
});
