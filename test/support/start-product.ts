import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProduct {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the product exactly as the README's start command does (`npm start`), with only the
 * environment given here plus PATH and HOME, and waits until it logs that it listens.
 */
/** `npm start` in its own process group, stdout and stderr collected together. */
function spawnProduct(env: Record<string, string>) {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  // 'close', not 'exit': npm may exit before the node process it started has written its last lines.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

export async function startProduct(env: Record<string, string>, options: { timeoutMs?: number } = {}): Promise<RunningProduct> {
  const { child, exited, output: currentOutput } = spawnProduct(env);

  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), options.timeoutMs ?? 30_000);
    const check = () => {
      if (/"event":"listening"/.test(currentOutput())) { clearTimeout(timer); resolve(true); }
    };
    child.stdout!.on('data', check);
    void exited.then(() => { clearTimeout(timer); resolve(false); });
  });
  if (!listening) {
    kill(child);
    throw new Error(`the product did not start:\n${currentOutput()}`);
  }
  const port = env.PORT ?? '3000';
  return {
    url: `http://localhost:${port}`,
    child,
    output: currentOutput,
    stop: async () => {
      kill(child, 'SIGTERM');
      return exited;
    },
  };
}

/** Runs the start command to its end, for configurations that must refuse to start. */
export async function runProductToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const { child, exited, output } = spawnProduct(env);
  const timer = setTimeout(() => kill(child), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return { code, output: output() };
}

function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  // npm runs node in a child of its own: signal the whole process group.
  try { process.kill(-child.pid!, signal); } catch { /* already gone */ }
}
