import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_USERS } from '../test/support/oidc-test-provider.ts';
import { generateSecrets, IDLE_TIMEOUT_SECONDS, startBare, startProduct, startProvider, TOKEN_RATE_LIMIT_PER_MINUTE, type BenchProvider, type ProductSecrets } from './bench-setup.ts';
import { bareBodyLike, checkTokenAnswer } from './check-token-answer.ts';
import { freePort, PROJECT_ROOT, sampleProcess, type RunningChild } from './child-process.ts';
import { logIn, sessionIdOf, signedSessionCookie } from './log-in.ts';
import { TOKEN_HEADERS, TOKEN_PATH } from './load.ts';
import { codeFingerprint, describeMachine } from './machine.ts';
import { countStoreWrites, measureCleanupStall, measureLatencies, runInterleaved, runRound, type Target } from './measure-phases.ts';
import { buildBare, measureOperatorsSection, renderOperatorsReport, type OperatorsSettings } from './operators-section.ts';
import { buildDist } from '../test/support/compiled-product.ts';
import { measureRedisSection, type RedisSettings } from './redis-section.ts';
import { ONE_REALM_QUERY, renderRedisOnlyReport, renderReport, verdicts, type BenchResults, type BenchSettings } from './report.ts';
import { countRows, createFilledCopy, readSessionRow, spreadSessionIds, type SessionRow } from './session-tables.ts';
import { summariseCpuProfile } from './summarise-cpu-profile.ts';

// BENCH_QUICK=1: short rounds and small tables, to try the harness (the report is not written to docs/).
// BENCH_PROFILE_DIR=<dir>: keep the raw .cpuprofile of section 8 there (open it in Chrome DevTools).
// `npm run bench -- --only redis` (or BENCH_ONLY=redis): section 9 alone, printed, docs/ left as it is.
// `npm run bench -- --only operators`: section 10 (the compiled build: start-up, peak RSS, metrics on) alone, likewise.
const quick = process.env.BENCH_QUICK === '1';
const PROFILE_SECONDS = 8;
const SETTINGS: BenchSettings = {
  connections: 50,
  warmupSeconds: quick ? 1 : 3,
  roundSeconds: quick ? 2 : 4,
  rounds: quick ? 3 : 5,
  sessionRounds: quick ? 3 : 5,
  latencyRate: 300,
  latencySeconds: quick ? 2 : 2.5,
  latencyRounds: 8,
  sizeRoundSeconds: quick ? 2 : 3,
  sizeRounds: 4,
  sizeSessions: 400,
  cleanupRate: 200,
  tokenRateLimitPerMinute: TOKEN_RATE_LIMIT_PER_MINUTE,
};
const SIZES = quick ? [1_000, 20_000] : [1_000, 100_000, 1_000_000];
const SEQUENTIAL_WRITE_CHECKS = 300;
const SESSIONS = 50;
const EXPIRE_HALF_AFTER_FILL_MS = 50_000;
// Sections 1-8 must end within 6 minutes: the cleanup stream stops at this point whatever happened.
// (Section 1b took 45 s of the old 280 s, and cleanup deletes now also update the sub and provider-sid
// indexes, so the stream needed the room to see a whole cleanup.) Sections 9 (Redis, about 75 s) and
// 10 (compiled build, about 25 s) run after it: the whole run takes about 8 minutes.
const BUDGET_SECONDS = 360;
// Shorter rounds than sections 1-2 so that section 9 adds little over a minute: 2×(3 s + 1 s) warm-up, 2×5×2×3 s of rounds, 50 logins.
const REDIS_SETTINGS: RedisSettings = {
  connections: SETTINGS.connections,
  warmupSeconds: quick ? 1 : 3,
  roundSeconds: quick ? 2 : 3,
  rounds: quick ? 3 : 5,
  sessions: SESSIONS,
  sequentialRequests: SEQUENTIAL_WRITE_CHECKS,
};
const REDIS_SERVER = '/usr/bin/redis-server';
const OPERATORS_SETTINGS: OperatorsSettings = {
  connections: SETTINGS.connections, starts: 3, warmupSeconds: quick ? 1 : 3, roundSeconds: quick ? 2 : 3, rounds: quick ? 3 : 5,
};

async function main(): Promise<void> {
  const began = performance.now();
  const only = onlySection(process.argv.slice(2), process.env.BENCH_ONLY);
  // Section 9 runs last: find a missing redis-server now, not after four minutes.
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing; section 9 needs it (apt-get install -y redis-server)`);
  const workDir = await mkdtemp(join(tmpdir(), 'hivekit-bench-'));
  const children: RunningChild[] = [];
  let provider: BenchProvider | undefined;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const machine = describeMachine();
    const codeAtStart = codeFingerprint();
    if (only === 'operators') {
      const operators = await measureOperatorsSection({ workDir, settings: OPERATORS_SETTINGS, children, say });
      process.stdout.write(`${renderOperatorsReport(operators)}\n`);
      if (codeFingerprint() !== codeAtStart) say('server/ or the dependencies changed during the run: the report above may mix versions');
      say(`done in ${Math.round((performance.now() - began) / 1000)} s (section 10: ${Math.round(operators.seconds)} s)`);
      return;
    }
    say('building the production targets: npm run build, and the bare route with tsc');
    await buildDist();
    await buildBare();
    if (only === 'redis') {
      const redis = await measureRedisSection({ workDir, settings: REDIS_SETTINGS, children, say });
      const runSeconds = (performance.now() - began) / 1000;
      process.stdout.write(`${renderRedisOnlyReport({ machine, command: 'npm run bench -- --only redis', date: isoSeconds(), runSeconds, connections: SETTINGS.connections, redis })}\n`);
      if (codeFingerprint() !== codeAtStart) say('server/ or the dependencies changed during the run: the report above may mix versions');
      say(`done in ${Math.round(runSeconds)} s (section 9: ${Math.round(redis.seconds)} s)`);
      return;
    }
    const productPort = await freePort();
    provider = await startProvider([productPort]);
    const secrets = generateSecrets();
    const dbPath = join(workDir, 'sessions.db');
    const product = await startProduct({ name: 'product', port: productPort, provider, secrets, dbPath, workDir });
    children.push(product);
    const alice = await logIn(product.url, TEST_USERS[0]!);
    const sample = await checkTokenAnswer(product.url, alice, secrets.hivekitSecret, 'alice');
    const bare = await startBare({ body: bareBodyLike(sample.body), workDir });
    children.push(bare);
    const bareBytes = (await (await fetch(`${bare.url}${TOKEN_PATH}`)).arrayBuffer()).byteLength;
    say(`product ${product.url} (pid ${product.pid}), bare ${bare.url} (pid ${bare.pid}), answers ${sample.bytes} / ${bareBytes} bytes`);

    say('1. throughput, one session');
    const productTarget = (cookies: string[]): Target => ({ child: product, cookies, dbPath });
    const bareTarget = (cookies: string[]): Target => ({ child: bare, cookies });
    const one = await runInterleaved({ bare: bareTarget([alice]), token: productTarget([alice]) }, {
      connections: SETTINGS.connections, warmupSeconds: SETTINGS.warmupSeconds, seconds: SETTINGS.roundSeconds, rounds: SETTINGS.rounds, onRound: say,
    });

    say(`1b. throughput, one session, ${ONE_REALM_QUERY}`);
    const narrowed = await fetch(`${product.url}${TOKEN_PATH}${ONE_REALM_QUERY}`, { headers: { ...TOKEN_HEADERS, cookie: alice } });
    if (narrowed.status !== 200) throw new Error(`${TOKEN_PATH}${ONE_REALM_QUERY} answered ${narrowed.status}`);
    const oneRealm = await runInterleaved({ bare: bareTarget([alice]), token: { ...productTarget([alice]), path: `${TOKEN_PATH}${ONE_REALM_QUERY}` } }, {
      connections: SETTINGS.connections, warmupSeconds: SETTINGS.warmupSeconds, seconds: SETTINGS.roundSeconds, rounds: SETTINGS.rounds, onRound: say,
    });

    say('2. 50 logins, throughput with 50 sessions');
    const cookies = [alice];
    for (let i = 1; i < SESSIONS; i += 1) cookies.push(await logIn(product.url, TEST_USERS[i % TEST_USERS.length]!));
    const fifty = await runInterleaved({ bare: bareTarget(cookies), token: productTarget(cookies) }, {
      connections: SETTINGS.connections, warmupSeconds: SETTINGS.warmupSeconds, seconds: SETTINGS.roundSeconds, rounds: SETTINGS.sessionRounds, onRound: say,
    });

    say(`3. latency at ${SETTINGS.latencyRate} req/s`);
    const latency = await measureLatencies({ bare: bareTarget([alice]), token: productTarget([alice]) }, {
      ratePerSecond: SETTINGS.latencyRate, seconds: SETTINGS.latencySeconds, rounds: SETTINGS.latencyRounds, maxSockets: SETTINGS.connections,
    });

    say('5. store writes per token request');
    const writes = await countStoreWrites(productTarget(cookies), sessionIdOf(alice), SEQUENTIAL_WRITE_CHECKS);
    const memory = { bare: sampleProcess(bare.pid), product: sampleProcess(product.pid) };
    const template = (await readSessionRow(dbPath, sessionIdOf(alice)))!;
    await bare.stop();
    await product.stop();

    const results: BenchResults = {
      machine, command: 'npm run bench', date: isoSeconds(), runSeconds: 0, settings: SETTINGS,
      bodyBytes: { token: sample.bytes, bare: bareBytes }, one, oneRealm, fifty, latency, memory, writes,
    };

    say('8. CPU profile of the token route, in a separate process');
    results.profile = await profileTokenRoute({ provider, secrets, dbPath, workDir, children, cookie: alice });

    say(`6. table sizes ${SIZES.join(', ')}${quick ? '' : ', then 7. cleanup stall'}`);
    const tables = await measureTables({ provider, secrets, livePath: dbPath, template, workDir, children, say, deadline: began + BUDGET_SECONDS * 1000 });
    results.sizes = tables.sizes;
    results.cleanup = tables.cleanup;
    await provider.close();
    provider = undefined;

    say('9. Redis session store');
    results.redis = await measureRedisSection({ workDir, settings: REDIS_SETTINGS, children, say });

    const operators = await measureOperatorsSection({ workDir, settings: OPERATORS_SETTINGS, children, say });

    results.runSeconds = (performance.now() - began) / 1000;
    const report = `${renderReport(results)}\n${renderOperatorsReport(operators)}`;
    process.stdout.write(`${report}\n`);
    if (codeFingerprint() !== codeAtStart) {
      // Products started later in the run would have run other code than the first ones.
      say('server/ or the dependencies changed during the run: the report above mixes versions, docs/BENCHMARKS.md is left as it was; run again');
      process.exitCode = 1;
      return;
    }
    if (!quick) await writeFile(join(PROJECT_ROOT, 'docs', 'BENCHMARKS.md'), `${report}\n`);
    const missed = verdicts(results).filter((v) => !v.met);
    say(`done in ${Math.round(results.runSeconds)} s; ${missed.length === 0 ? 'every target met' : `missed: ${missed.map((v) => v.target).join('; ')}`}`);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await provider?.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** A product process of its own with --cpu-prof, so the measured processes run without the profiler. */
async function profileTokenRoute(options: {
  provider: BenchProvider; secrets: ProductSecrets; dbPath: string; workDir: string; children: RunningChild[]; cookie: string;
}): Promise<NonNullable<BenchResults['profile']>> {
  const dir = process.env.BENCH_PROFILE_DIR || join(options.workDir, 'profile');
  await mkdir(dir, { recursive: true });
  const product = await startProduct({
    name: 'profiled', port: await freePort(), provider: options.provider, secrets: options.secrets, dbPath: options.dbPath, workDir: options.workDir,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  options.children.push(product);
  const target: Target = { child: product, cookies: [options.cookie] };
  const warm = await runRound(target, { connections: SETTINGS.connections, seconds: 2 });
  const measured = await runRound(target, { connections: SETTINGS.connections, seconds: PROFILE_SECONDS });
  await product.stop();
  // Main thread only: node names it CPU.<date>.<time>.<pid>.0.<n>.cpuprofile (tsx's loader thread gets its own file).
  const file = (await readdir(dir)).find((name) => name.includes(`.${product.pid}.0.`) && name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no CPU profile of pid ${product.pid} in ${dir}`);
  // From the first token minted on, so start-up is left out; all of it if the handler was renamed.
  const started = summariseCpuProfile(join(dir, file), 'mintAccessToken');
  const summary = started.busyMs > 0 ? started : summariseCpuProfile(join(dir, file));
  return { summary, seconds: PROFILE_SECONDS, requests: warm.ok + measured.ok };
}

/** `--only redis|operators`, `--only=…` or BENCH_ONLY=…; nothing: the whole bench. */
function onlySection(args: readonly string[], fromEnv: string | undefined): 'redis' | 'operators' | undefined {
  const at = args.findIndex((arg) => arg === '--only' || arg.startsWith('--only='));
  const value = at === -1 ? fromEnv || undefined : args[at]!.startsWith('--only=') ? args[at]!.slice('--only='.length) : args[at + 1];
  const unknown = args.filter((_arg, i) => i !== at && !(args[at] === '--only' && i === at + 1));
  if (unknown.length > 0) throw new Error(`unknown arguments: ${unknown.join(' ')}; the bench takes only --only redis|operators`);
  if (value === undefined || value === 'redis' || value === 'operators') return value;
  throw new Error(`--only ${value}: the sections that run alone are redis and operators`);
}

function isoSeconds(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * One product per table size, all started before the rounds so the rounds can interleave. The
 * largest table has every other row expiring 50 s after its fill began: live when its product
 * starts (so the start-up cleanup finds nothing), expired before that product's first periodic
 * cleanup, 60 s after start, which then runs under a paced stream once the size rounds are over.
 */
async function measureTables(options: {
  provider: BenchProvider; secrets: ProductSecrets; livePath: string; template: SessionRow;
  workDir: string; children: RunningChild[]; say: (line: string) => void; deadline: number;
}): Promise<{ sizes: NonNullable<BenchResults['sizes']>; cleanup?: NonNullable<BenchResults['cleanup']> }> {
  const fillSeconds: number[] = [];
  const paths: string[] = [];
  let expiring = 0;
  for (const [i, rows] of SIZES.entries()) {
    const copyPath = join(options.workDir, `sessions-${rows}.db`);
    const withCleanup = !quick && i === SIZES.length - 1;
    const now = Date.now();
    const filled = await createFilledCopy({
      livePath: options.livePath, copyPath, totalRows: rows, template: options.template, idleTimeoutMs: IDLE_TIMEOUT_SECONDS * 1000, now,
      expireHalfAt: withCleanup ? now + EXPIRE_HALF_AFTER_FILL_MS : undefined,
    });
    if (withCleanup) expiring = filled.expiring;
    fillSeconds.push(filled.fillMs / 1000);
    paths.push(copyPath);
  }
  const targets: Record<string, Target> = {};
  const products: RunningChild[] = [];
  for (const [i, rows] of SIZES.entries()) {
    const sids = await spreadSessionIds(paths[i]!, SETTINGS.sizeSessions, Date.now() + 3_600_000);
    const product = await startProduct({ name: `rows-${rows}`, port: await freePort(), provider: options.provider, secrets: options.secrets, dbPath: paths[i]!, workDir: options.workDir });
    options.children.push(product);
    products.push(product);
    const cookies = sids.map((sid) => signedSessionCookie(sid, options.secrets.sessionSecret));
    await checkSessions(product.url, cookies);
    targets[`${rows} rows`] = { child: product, cookies, dbPath: paths[i]! };
  }
  const largest = products.at(-1)!;
  const run = await runInterleaved(targets, {
    connections: SETTINGS.connections, warmupSeconds: 2, seconds: SETTINGS.sizeRoundSeconds, rounds: SETTINGS.sizeRounds, onRound: options.say,
  });
  for (const product of products.slice(0, -1)) await product.stop();
  const sizes = { rows: SIZES, startupMs: products.map((p) => p.startupMs), fillSeconds, run };
  if (quick) return { sizes };

  const target = targets[`${SIZES.at(-1)} rows`]!;
  const streamStartedAfterSeconds = (performance.now() - largest.readyAt) / 1000;
  const stall = await measureCleanupStall(target, {
    ratePerSecond: SETTINGS.cleanupRate, quietSeconds: 3, capSeconds: Math.max(20, (options.deadline - performance.now()) / 1000),
  });
  await largest.stop();
  const after = await countRows(target.dbPath!, Date.now());
  return {
    sizes,
    cleanup: { ...stall, rows: SIZES.at(-1)!, expiring, rowsAfter: after.rows, expiredAfter: after.expired, streamStartedAfterSeconds },
  };
}

/** Every synthetic cookie must open its session: 200, authenticated, its own subject. */
async function checkSessions(url: string, cookies: readonly string[]): Promise<void> {
  for (const cookie of cookies) {
    const response = await fetch(`${url}${TOKEN_PATH}`, { headers: { ...TOKEN_HEADERS, cookie } });
    const body = (await response.json()) as { authenticated?: boolean; user?: { sub?: string } };
    if (response.status !== 200 || !body.authenticated || !body.user?.sub?.startsWith('bench-user-')) {
      throw new Error(`a filled session did not open: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
