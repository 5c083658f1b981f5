import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export { freePort } from '../test/support/start-product.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every kernel Node supports here.
const CLOCK_TICKS_PER_SECOND = 100;

export interface RunningChild {
  name: string;
  url: string;
  pid: number;
  /** Milliseconds from spawn until the readiness URL first answered 200. */
  startupMs: number;
  /** performance.now() when it was ready. */
  readyAt: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` (the compiled build, as the production command runs it) without npm or a
 * shell in between, so the pid is the server's own (for /proc). Stdout and stderr go straight to `logFile`,
 * as under a process supervisor, so the bench process pays nothing for the product's log lines.
 */
export async function startChild(options: {
  name: string;
  script: string;
  env: Record<string, string>;
  port: number;
  logFile: string;
  readyPath: string;
  /** Extra node flags, e.g. --cpu-prof (which NODE_OPTIONS refuses). */
  nodeArgs?: readonly string[];
  timeoutMs?: number;
}): Promise<RunningChild> {
  const fd = openSync(options.logFile, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...options.env,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => { exitCode = code; resolve(); }));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = started + (options.timeoutMs ?? 120_000);
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${options.name} exited with ${exitCode} before it was ready:\n${tail(options.logFile)}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} was not ready after ${options.timeoutMs ?? 120_000} ms:\n${tail(options.logFile)}`);
    }
    if (await answersOk(`${url}${options.readyPath}`)) break;
    await sleep(20);
  }
  const readyAt = performance.now();
  return {
    name: options.name,
    url,
    pid: child.pid!,
    startupMs: readyAt - started,
    readyAt,
    logFile: options.logFile,
    stop: () => stopChild(child, exited),
  };
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no output)';
  }
}

export interface ProcessSample {
  /** Peak resident set size since start (VmHWM), KiB. */
  peakRssKiB: number;
  rssKiB: number;
  /** User + system CPU of every thread, milliseconds. */
  cpuMs: number;
}

export function sampleProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  // Fields after the command name, which may contain spaces: state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { peakRssKiB: field('VmHWM'), rssKiB: field('VmRSS'), cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
}

/** Busy and stolen CPU of the whole machine (all cores) since boot, milliseconds, from /proc/stat. */
export function sampleMachine(): { busyMs: number; stealMs: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  const toMs = (ticks: number) => (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  return { busyMs: toMs(user + nice + system + irq + softirq), stealMs: toMs(steal) };
}
