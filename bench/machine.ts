import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './child-process.ts';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  packages: Record<string, string>;
  commit: string;
  /** Files under server/ that differ from the commit: the run measured the working tree. */
  uncommittedServerFiles: string[];
}

const PACKAGES = ['express', 'express-session', 'connect-sqlite3', 'sqlite3', 'connect-redis', 'redis', 'jsonwebtoken', 'express-rate-limit', 'helmet', 'autocannon'];

export function describeMachine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cpus: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    packages: Object.fromEntries(PACKAGES.map((name) => [name, versionOf(name)])),
    commit: git(['rev-parse', '--short', 'HEAD']).trim(),
    uncommittedServerFiles: git(['status', '--porcelain', '--', 'server']).split('\n').filter(Boolean).map((line) => line.slice(3)),
  };
}

function versionOf(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  } catch {
    return '';
  }
}

/**
 * A hash of everything the measured processes run (server/, package.json, package-lock.json): the
 * same at the start and the end of a run, or the run measured a mix of versions.
 */
export function codeFingerprint(): string {
  const hash = createHash('sha256');
  const files = (readdirSync(join(PROJECT_ROOT, 'server'), { recursive: true, withFileTypes: true }) as Array<{ name: string; parentPath?: string; path?: string; isFile(): boolean }>)
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path ?? '', entry.name))
    .sort();
  for (const file of [...files, join(PROJECT_ROOT, 'package.json'), join(PROJECT_ROOT, 'package-lock.json')]) {
    hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}
