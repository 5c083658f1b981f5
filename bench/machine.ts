import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

const PACKAGES = ['express', 'express-session', 'connect-sqlite3', 'sqlite3', 'jsonwebtoken', 'express-rate-limit', 'helmet', 'autocannon'];

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
