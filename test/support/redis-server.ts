import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './start-product.ts';

const REDIS_SERVER = '/usr/bin/redis-server';
const START_ATTEMPTS = 5;
const PORT_TAKEN = /Address already in use|bind: .*in use/i;

export interface RunningRedis {
  /** `redis://127.0.0.1:<port>`; append `/<db>` for a database number. */
  url: string;
  port: number;
  /** SIGTERM (a clean shutdown; nothing is saved) and wait for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty: "Redis is back" after a stop() or kill(). */
  start(): Promise<void>;
  /** SIGKILL and wait for the exit: Redis dying, not shutting down. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers, as behind a network partition. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  output(): string;
}

export class RedisStartError extends Error {
  constructor(readonly output: string) {
    super(`redis-server did not start:\n${output}`);
  }
}

/**
 * A redis-server of the test's own on 127.0.0.1 and a free port: no RDB or AOF file
 * (`--save '' --appendonly no`), `noeviction` as the README requires, its working folder in a
 * fresh temp folder. Never the machine's Redis on 6379. A port another process takes between the
 * choice and redis-server's bind is chosen again; a restart keeps its port.
 */
export async function startRedisServer(options: { timeoutMs?: number; choosePort?: () => Promise<number> } = {}): Promise<RunningRedis> {
  const choosePort = options.choosePort ?? freePort;
  for (let attempt = 1; ; attempt += 1) {
    const port = await choosePort();
    try {
      const first = await startOnce(port, options.timeoutMs);
      return handle(port, first, options.timeoutMs);
    } catch (error) {
      const portTaken = error instanceof RedisStartError && PORT_TAKEN.test(error.output);
      if (!portTaken || attempt === START_ATTEMPTS) throw error;
    }
  }
}

interface Instance {
  child: ChildProcess;
  exited: Promise<void>;
  dir: string;
  output(): string;
}

function handle(port: number, first: Instance, timeoutMs: number | undefined): RunningRedis {
  let current: Instance | undefined = first;
  let previousOutput = '';
  const end = async (signal: NodeJS.Signals) => {
    const instance = current;
    if (!instance) return;
    current = undefined;
    previousOutput += instance.output();
    instance.child.kill(signal);
    // A paused redis-server acts on SIGTERM only once it runs again.
    instance.child.kill('SIGCONT');
    await instance.exited;
    await rm(instance.dir, { recursive: true, force: true });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start: async () => {
      if (current) throw new Error(`redis-server on port ${port} is already running`);
      current = await startOnce(port, timeoutMs);
    },
    pause: () => { current?.child.kill('SIGSTOP'); },
    resume: () => { current?.child.kill('SIGCONT'); },
    output: () => previousOutput + (current?.output() ?? ''),
  };
}

async function startOnce(port: number, timeoutMs = 10_000): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const child = spawn(REDIS_SERVER, [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  let hasExited = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => { hasExited = true; resolve(); }));
  // A test that fails before its cleanup must not leave a redis-server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const deadline = Date.now() + timeoutMs;
  while (!hasExited && Date.now() < deadline) {
    if (await answersPing(port)) return { child, exited, dir, output: () => output };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  await exited;
  await rm(dir, { recursive: true, force: true });
  throw new RedisStartError(output || `no PONG on port ${port} within ${timeoutMs} ms`);
}

/** One inline PING on a raw socket: true on `+PONG`. A listener that is not Redis answers otherwise. */
export function answersPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let reply = '';
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('end', () => done(reply.startsWith('+PONG')));
  });
}
