import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_USERS } from '../test/support/oidc-test-provider.ts';
import { buildDist } from '../test/support/compiled-product.ts';
import { generateSecrets, productEnv, startProvider, type BenchProvider } from './bench-setup.ts';
import { bareBodyLike, checkTokenAnswer } from './check-token-answer.ts';
import { freePort, PROJECT_ROOT, sampleProcess, startChild, type RunningChild } from './child-process.ts';
import { logIn } from './log-in.ts';
import { measureThroughput, median, TOKEN_PATH } from './load.ts';

/** Issue 14's targets for the compiled build. */
export const PEAK_RSS_RATIO_TARGET = 1.3;
export const STARTUP_TARGET_MS = 1000;

export interface OperatorsSettings {
  connections: number;
  /** Start-ups measured (spawn of node dist/server/main.js to the first /readyz 200). */
  starts: number;
  warmupSeconds: number;
  roundSeconds: number;
  rounds: number;
}

export interface OperatorsResult {
  startupMs: number[];
  /** Requests per second of each round, bare and product (metrics on) alternating. */
  bareRps: number[];
  tokenRps: number[];
  peakRssKiB: { bare: number; product: number };
  seconds: number;
}

/** The bare route compiled too (tsc to dist/bench/), so both targets run as plain node without tsx's loader. */
export async function buildBare(): Promise<string> {
  await promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc'), 'bench/bare-server.ts',
    '--outDir', 'dist/bench', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck'], { cwd: PROJECT_ROOT, timeout: 120_000 });
  return 'dist/bench/bare-server.js';
}

/**
 * The compiled build as production runs it (npm run build, then node dist/server/main.js, metrics
 * on, no drain): start-up to /readyz 200, then the token route against the bare route (both
 * compiled) in alternating rounds, and the peak RSS of each process.
 */
export async function measureOperatorsSection(options: {
  workDir: string; settings: OperatorsSettings; children: RunningChild[]; say: (line: string) => void;
}): Promise<OperatorsResult> {
  const began = performance.now();
  const { settings, say } = options;
  say('10. compiled build: npm run build');
  await buildDist();
  const bareScript = await buildBare();
  const port = await freePort();
  let provider: BenchProvider | undefined = await startProvider([port]);
  try {
    const secrets = generateSecrets();
    const env: Record<string, string> = {
      ...productEnv({ port, provider, secrets, dataDir: join(options.workDir, 'operators-data'), dbPath: join(options.workDir, 'operators.db') }),
      METRICS_PORT: String(await freePort()),
      SHUTDOWN_DRAIN_SECONDS: '0',
    };
    const start = (index: number) => startChild({
      name: `compiled-${index}`, script: 'dist/server/main.js', env, port,
      logFile: join(options.workDir, `compiled-${index}.log`), readyPath: '/readyz',
    });
    const startupMs: number[] = [];
    let product: RunningChild | undefined;
    for (let i = 1; i <= settings.starts; i += 1) {
      product = await start(i);
      startupMs.push(product.startupMs);
      say(`  start ${i}: ${Math.round(product.startupMs)} ms to /readyz 200`);
      if (i < settings.starts) await product.stop();
    }
    options.children.push(product!);
    const cookie = await logIn(product!.url, TEST_USERS[0]!);
    const sample = await checkTokenAnswer(product!.url, cookie, secrets.hivekitSecret, 'alice');
    const barePort = await freePort();
    const bare = await startChild({
      name: 'bare-compiled', script: bareScript, port: barePort, readyPath: '/healthz',
      env: { NODE_ENV: 'production', BARE_PORT: String(barePort), BARE_BODY: bareBodyLike(sample.body) },
      logFile: join(options.workDir, 'bare-compiled.log'),
    });
    options.children.push(bare);
    const round = async (url: string, seconds: number) => {
      const result = await measureThroughput(`${url}${TOKEN_PATH}`, [cookie], { connections: settings.connections, seconds });
      if (result.failures > 0) throw new Error(`${url}: ${result.failures} failed requests ${JSON.stringify(result.statusCodes)}`);
      return result.requestsPerSecond;
    };
    await round(bare.url, settings.warmupSeconds);
    await round(product!.url, settings.warmupSeconds);
    const bareRps: number[] = [];
    const tokenRps: number[] = [];
    for (let i = 1; i <= settings.rounds; i += 1) {
      bareRps.push(await round(bare.url, settings.roundSeconds));
      tokenRps.push(await round(product!.url, settings.roundSeconds));
      say(`  round ${i}: bare ${Math.round(bareRps.at(-1)!)} req/s, token (metrics on) ${Math.round(tokenRps.at(-1)!)} req/s`);
    }
    const peakRssKiB = { bare: sampleProcess(bare.pid).peakRssKiB, product: sampleProcess(product!.pid).peakRssKiB };
    await bare.stop();
    await product!.stop();
    await provider.close();
    provider = undefined;
    return { startupMs, bareRps, tokenRps, peakRssKiB, seconds: (performance.now() - began) / 1000 };
  } finally {
    await provider?.close();
  }
}

export function renderOperatorsReport(result: OperatorsResult): string {
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const ratio = result.peakRssKiB.product / result.peakRssKiB.bare;
  const startup = median(result.startupMs);
  const bare = median(result.bareRps);
  const token = median(result.tokenRps);
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  return [
    '## 10. The compiled build (node dist/server/main.js, production, METRICS_PORT set)',
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| start-up to /readyz 200 (median of ${result.startupMs.length}: ${result.startupMs.map((ms) => Math.round(ms)).join(', ')} ms) | ${Math.round(startup)} ms | < ${STARTUP_TARGET_MS} ms: ${verdict(startup < STARTUP_TARGET_MS)} |`,
    `| peak RSS under load, product / bare | ${mib(result.peakRssKiB.product)} / ${mib(result.peakRssKiB.bare)} = ${ratio.toFixed(2)}× | ≤ ${PEAK_RSS_RATIO_TARGET}×: ${verdict(ratio <= PEAK_RSS_RATIO_TARGET)} |`,
    `| token route with metrics on / bare route (median of ${result.tokenRps.length} alternating rounds) | ${Math.round(token)} / ${Math.round(bare)} req/s = ${(token / bare).toFixed(2)} | — |`,
    '',
  ].join('\n');
}
