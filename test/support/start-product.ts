import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A port nobody listens on at the moment of the call. Another process may take it before the
 * caller binds it: `startProduct` picks its own ports and picks again when that happens; a
 * caller that cannot retry should hold a bound server instead (listen on 0, pass its port).
 */
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

/** The ports `startProduct` chooses when the environment leaves them out. */
const PORT_VARIABLES = ['PORT', 'DEV_OIDC_PORT'] as const;
// main.ts says "port N on H is already in use"; the embedded provider passes on Node's EADDRINUSE.
const PORT_TAKEN = /already in use|EADDRINUSE/;
const START_ATTEMPTS = 5;

export interface RunningProduct {
  url: string;
  /** The environment it runs with, ports included: start it again with this to restart it on the same ports. */
  env: Record<string, string>;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** `npm start` in its own process group, stdout and stderr collected together. */
function spawnProduct(env: Record<string, string>) {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: PROJECT_ROOT,
    // No drain on SIGTERM unless a test asks for one: nothing balances load in front of a test's product.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SHUTDOWN_DRAIN_SECONDS: '0', ...env },
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

/**
 * Starts the product exactly as the README's start command does (`npm start`), with only the
 * environment given here plus PATH and HOME, and waits until it logs that it listens.
 *
 * PORT and DEV_OIDC_PORT are chosen where `env` leaves them out. A port can be
 * taken by another process between the choice and the product's listen; then the product exits
 * saying so and is started again on newly chosen ports. Ports given in `env` are used as they
 * are (a restart must keep them), so a clash on those fails the start.
 */
export async function startProduct(
  env: Record<string, string>,
  options: { timeoutMs?: number; choosePort?: () => Promise<number> } = {},
): Promise<RunningProduct> {
  const choosePort = options.choosePort ?? freePort;
  const chosen = PORT_VARIABLES.filter((name) => env[name] === undefined);
  for (let attempt = 1; ; attempt += 1) {
    const ports: Record<string, string> = {};
    for (const name of chosen) ports[name] = String(await choosePort());
    try {
      return await startProductOnce({ ...env, ...ports }, options.timeoutMs);
    } catch (error) {
      const portTaken = error instanceof ProductStartError && PORT_TAKEN.test(error.output);
      if (!portTaken || chosen.length === 0 || attempt === START_ATTEMPTS) throw error;
    }
  }
}

export class ProductStartError extends Error {
  constructor(readonly output: string) {
    super(`the product did not start:\n${output}`);
  }
}

async function startProductOnce(env: Record<string, string>, timeoutMs = 30_000): Promise<RunningProduct> {
  const { child, exited, output: currentOutput } = spawnProduct(env);

  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const check = () => {
      if (/"event":"listening"/.test(currentOutput())) { clearTimeout(timer); resolve(true); }
    };
    child.stdout!.on('data', check);
    void exited.then(() => { clearTimeout(timer); resolve(false); });
  });
  if (!listening) {
    kill(child);
    await exited;
    throw new ProductStartError(currentOutput());
  }
  const port = env.PORT ?? '3000';
  return {
    url: `http://localhost:${port}`,
    env,
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
