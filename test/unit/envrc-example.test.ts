import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { SETTINGS } from '../../server/config/settings.ts';

describe('.envrc.example', () => {
  it('documents every setting the product reads, and only those', async () => {
    const text = await readFile(new URL('../../.envrc.example', import.meta.url), 'utf8');
    const documented = new Set([...text.matchAll(/^#?\s*export ([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const known = new Set(SETTINGS.flatMap((s) => [s.name, ...(s.aliases ?? [])]));
    assert.deepEqual([...known].filter((name) => !documented.has(name)), []);
    assert.deepEqual([...documented].filter((name) => !known.has(name!)), []);
  });
});
