import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * A file shipped beside the code (public/, policy.example.json, the demo users) by its path from
 * the package root. The root is found from this module, so the answer is the same whether it runs
 * from server/ (tsx) or from dist/server/ (the compiled build, which tsc writes without assets).
 */
export function packagePath(...segments: string[]): string {
  root ??= findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return join(root, ...segments);
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
