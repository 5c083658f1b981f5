import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './start-product.ts';

/** The documented example, which the tests run (with the changes its header lists). */
export const NGINX_EXAMPLE = fileURLToPath(new URL('../../docs/nginx.conf.example', import.meta.url));
// Debian's nginx package; /usr/sbin is not on every user's PATH.
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const START_ATTEMPTS = 5;
const PORT_TAKEN = /Address already in use/;
const TEMP_FILES: Record<string, string> = { pid: 'nginx.pid', error_log: 'error.log', access_log: 'access.log' };
const TEMP_PATHS = ['client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path'];

/** One line of the example's `bff` access log format. */
export interface AccessLogEntry {
  time: string;
  client: string;
  method: string;
  path: string;
  status: number;
  upstream: string;
  upstreamStatus: string;
}

export interface RunningNginx {
  /** `http://127.0.0.1:<port>`: the product's PUBLIC_URL. */
  url: string;
  port: number;
  config: string;
  accessLog(): Promise<AccessLogEntry[]>;
  /** The raw access log, for checks the parsed entries would hide. */
  accessLogText(): Promise<string>;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

export interface TestConfigValues {
  dir: string;
  port: number;
  /** `host:port` of each instance, in round-robin order. */
  upstreams: readonly string[];
}

/**
 * The test's copy of the example: each line tagged `# test: <what>` is changed, every other line
 * is kept. drop: removed; listen: plain http on 127.0.0.1:<port>; upstream: the first becomes the
 * given servers, the others go; worker_processes: 1; temp: the file moves into `dir`. Daemon off,
 * no master process (one process, so round-robin is exact and the process is the test's child).
 */
export function renderTestConfig(template: string, values: TestConfigValues): string {
  const counts = new Map<string, number>();
  const lines: string[] = [];
  for (const line of template.split('\n')) {
    const tag = /#\s*test:\s*(\S+)\s*$/.exec(line)?.[1];
    if (tag === undefined) {
      lines.push(line);
      if (/^http\s*\{/.test(line)) lines.push(...TEMP_PATHS.map((name) => `    ${name} ${join(values.dir, name)};`));
      continue;
    }
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
    const indent = /^\s*/.exec(line)![0];
    if (tag === 'drop') continue;
    if (tag === 'listen') lines.push(`${indent}listen 127.0.0.1:${values.port};`);
    else if (tag === 'upstream') {
      if (counts.get(tag) === 1) lines.push(...values.upstreams.map((upstream) => `${indent}server ${upstream};`));
    } else if (tag === 'worker_processes') lines.push(`${indent}worker_processes 1;`);
    else if (tag === 'temp') {
      const directive = /^\s*(\w+)\s+\S+/.exec(line)?.[1] ?? '';
      const file = TEMP_FILES[directive];
      if (!file) throw new Error(`nginx template: "# test: temp" on a ${directive || 'blank'} line; expected one of ${Object.keys(TEMP_FILES).join(', ')}`);
      lines.push(line.replace(/^(\s*\w+\s+)\S+?(;|\s)/, `$1${join(values.dir, file)}$2`).replace(/\s*#.*$/, ''));
    } else throw new Error(`nginx template: unknown tag "# test: ${tag}"`);
  }
  if (counts.get('listen') !== 1) throw new Error('nginx template: expected exactly one "# test: listen" line');
  if (!counts.get('upstream')) throw new Error('nginx template: no "# test: upstream" line');
  const config = ['daemon off;', 'master_process off;', ...lines].join('\n');
  // The copy must be plain http: an ssl directive left untagged would need a certificate.
  if (/^\s*ssl_|\bssl\b\s*[;\w]/m.test(config.replace(/#.*$/gm, ''))) throw new Error('nginx template: an ssl setting is not tagged "# test: drop"');
  return config;
}

/**
 * Debian's nginx with the example config (see renderTestConfig) on a free loopback port, round-robin
 * over `backends` (URLs; `localhost` becomes 127.0.0.1 so that each backend is one peer). Every
 * file it writes is in a temp folder. A port taken between the choice and the bind is chosen again;
 * a `port` given (one the caller held until now, because others had to know the URL) is used as is.
 */
export async function startNginx(options: {
  backends: readonly string[]; port?: number; template?: string; timeoutMs?: number; choosePort?: () => Promise<number>;
}): Promise<RunningNginx> {
  const template = await readFile(options.template ?? NGINX_EXAMPLE, 'utf8');
  const upstreams = options.backends.map((backend) => {
    const url = new URL(backend);
    return `${url.hostname === 'localhost' ? '127.0.0.1' : url.hostname}:${url.port || '80'}`;
  });
  const given = options.port;
  const choosePort = given === undefined ? options.choosePort ?? freePort : async () => given;
  for (let attempt = 1; ; attempt += 1) {
    const dir = await mkdtemp(join(tmpdir(), 'nginx-test-'));
    const port = await choosePort();
    const config = renderTestConfig(template, { dir, port, upstreams });
    await writeFile(join(dir, 'nginx.conf'), config);
    try {
      return await startOnce(dir, port, config, options.timeoutMs);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      const portTaken = error instanceof NginxStartError && PORT_TAKEN.test(error.output);
      if (!portTaken || given !== undefined || attempt === START_ATTEMPTS) throw error;
    }
  }
}

export class NginxStartError extends Error {
  constructor(readonly output: string) {
    super(`nginx did not start:\n${output}`);
  }
}

async function startOnce(dir: string, port: number, config: string, timeoutMs = 10_000): Promise<RunningNginx> {
  // -e: the error log before the config is read; -p: relative paths resolve in the temp folder.
  const child: ChildProcess = spawn(NGINX, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  let hasExited = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => { hasExited = true; resolve(); }));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const errorLog = () => readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
  const accessLogText = () => readFile(join(dir, 'access.log'), 'utf8').catch(() => '');

  const deadline = Date.now() + timeoutMs;
  let listening = false;
  while (!hasExited && Date.now() < deadline && !listening) {
    listening = await accepts(port);
    if (!listening) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!listening || hasExited) {
    child.kill('SIGKILL');
    await exited;
    throw new NginxStartError(`${output}${await errorLog()}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    config,
    accessLogText,
    accessLog: async () => (await accessLogText()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as AccessLogEntry),
    errorLog,
    stop: async () => {
      if (!hasExited) {
        // SIGQUIT: graceful, in-flight requests finish; SIGKILL if that takes too long.
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}
