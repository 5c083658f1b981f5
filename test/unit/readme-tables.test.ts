import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SETTINGS, type RawSettings, type SettingSpec } from '../../server/config/settings.ts';
import { ERRORS } from '../../server/errors/app-error.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = await readFile(join(ROOT, 'README.md'), 'utf8');

/** The cells of each body row of the first table under `heading`. */
function tableUnder(heading: string): string[][] {
  const lines = README.split('\n');
  const start = lines.indexOf(heading);
  assert.notEqual(start, -1, `README has no "${heading}" section`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    rows.push(line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
  }
  // The header row and the |---| row.
  return rows.slice(2);
}

/** What the README's default column says for a setting, defaults that depend on others written as $NAME. */
function documentedDefault(spec: SettingSpec): string {
  const placeholders: RawSettings = Object.fromEntries(SETTINGS.map((s) => [s.name, `$${s.name}`]));
  const value = typeof spec.defaultValue === 'function' ? spec.defaultValue(placeholders) : spec.defaultValue;
  if (spec.requiredInProduction) return value ? `\`${value}\` (dev); required in production` : 'required in production';
  return value ? `\`${value}\`` : '—';
}

describe("README's settings table", () => {
  const rows = tableUnder('### Settings').map(([names = '', defaultCell = '', doc = '']) => ({
    names: [...names.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!),
    defaultCell,
    doc,
  }));

  it('lists every setting of the schema once, with its aliases, its default and its one-line doc', () => {
    for (const spec of SETTINGS) {
      const matching = rows.filter((row) => row.names[0] === spec.name);
      assert.equal(matching.length, 1, `${spec.name}: ${matching.length} rows in the README's settings table`);
      const row = matching[0]!;
      assert.deepEqual(row.names.slice(1), spec.aliases ?? [], `${spec.name}: aliases`);
      assert.equal(row.defaultCell, documentedDefault(spec), `${spec.name}: default`);
      assert.equal(row.doc, spec.doc, `${spec.name}: doc (settings.ts is the source; copy its doc)`);
    }
  });

  it('documents nothing the product does not read', () => {
    const known = new Set(SETTINGS.flatMap((s) => [s.name, ...(s.aliases ?? [])]));
    assert.deepEqual(rows.flatMap((row) => row.names).filter((name) => !known.has(name)), []);
  });
});

describe("README's errors table and the error vocabulary", () => {
  const rows = tableUnder('### Errors').map(([code = '', status = '', message = '']) => ({ code: code.replace(/`/g, ''), status: Number(status), message }));

  it('lists every code of the vocabulary with its status and message, and no other', () => {
    assert.deepEqual(rows.map((row) => row.code).sort(), Object.keys(ERRORS).sort());
    for (const row of rows) {
      const error = ERRORS[row.code as keyof typeof ERRORS];
      assert.equal(row.status, error.status, `${row.code}: status`);
      // A note may follow the message, e.g. what else the body carries.
      assert.ok(row.message === error.message || row.message.startsWith(`${error.message} (`), `${row.code}: message ${JSON.stringify(row.message)}`);
    }
  });

  it('has no code that nothing in server/ sends: a documented code must be one a client can get', async () => {
    const dir = join(ROOT, 'server');
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts') && f !== join('errors', 'app-error.ts'));
    const source = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('\n');
    assert.deepEqual(Object.keys(ERRORS).filter((code) => !source.includes(`'${code}'`)), []);
  });
});
