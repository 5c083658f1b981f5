import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './start-product.ts';

/** `npm run build`: the compiled build the README's production command runs (dist/). */
export async function buildDist(): Promise<void> {
  await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, timeout: 180_000 });
}

export interface CompiledProduct {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** Milliseconds from spawn to the "listening" line. */
  startMs: number;
}

/**
 * `node dist/server/main.js`, the documented production command, with only `env` (plus PATH and
 * HOME) and `nodeArgs` before the script; resolves once it logs that it listens.
 */
export async function startCompiled(env: Record<string, string>, options: { nodeArgs?: string[]; timeoutMs?: number } = {}): Promise<CompiledProduct> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), 'dist/server/main.js'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let startMs = 0;
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), options.timeoutMs ?? 30_000);
    child.stdout!.on('data', () => {
      if (startMs === 0 && /"event":"listening"/.test(output)) { startMs = performance.now() - started; clearTimeout(timer); resolve(true); }
    });
    void exited.then(() => { clearTimeout(timer); resolve(false); });
  });
  if (!listening) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`the compiled build did not start:\n${output}`);
  }
  return { child, url: `http://127.0.0.1:${env.PORT}`, output: () => output, exited, startMs };
}
