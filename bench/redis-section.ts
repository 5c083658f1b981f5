import { TEST_USERS } from '../test/support/oidc-test-provider.ts';
import { startRedisServer } from '../test/support/redis-server.ts';
import { generateSecrets, startBare, startProduct, startProvider, type BenchProvider } from './bench-setup.ts';
import { bareBodyLike, checkTokenAnswer } from './check-token-answer.ts';
import { freePort, sampleProcess, type ProcessSample, type RunningChild } from './child-process.ts';
import { TOKEN_HEADERS, TOKEN_PATH } from './load.ts';
import { logIn, sessionIdOf } from './log-in.ts';
import { runInterleaved, type InterleavedResult, type Target } from './measure-phases.ts';
import { openRedisProbe, type MonitoredCommand, type RedisProbe } from './redis-probe.ts';

export const REDIS_KEY_PREFIX = 'hivekit-bench:';
// The product's key layout (server/sessions/redis-session-store.ts, server/http/rate-limits.ts):
// what MONITOR shows is attributed by key. A key of neither family is reported as "other", and
// its writes count against the target, so a changed layout cannot hide a session write.
const SESSION_KEYS = `${REDIS_KEY_PREFIX}sess:`;
const TOKEN_LIMIT_KEYS = `${REDIS_KEY_PREFIX}rl:token:`;
export const KEY_FAMILIES = ['session', 'token limit', 'other'] as const;
export type KeyFamily = (typeof KEY_FAMILIES)[number];
/** The token limit's script writes with these (INCR, and PEXPIRE when a window starts); any other write in a round is a session write. */
export const TOKEN_LIMIT_WRITES: readonly string[] = ['incr', 'pexpire'];

export interface RedisSettings {
  connections: number;
  warmupSeconds: number;
  roundSeconds: number;
  rounds: number;
  sessions: number;
  sequentialRequests: number;
}

export interface FamilyCount {
  /** Commands the product sent (an EVAL counts once; the commands it runs are not "sent"). */
  sent: Record<string, number>;
  /** Commands with Redis' `write` flag that ran, whether sent or run by a script. */
  writes: Record<string, number>;
}

export interface RedisWriteCount {
  requests: number;
  non200: number;
  families: Record<KeyFamily, FamilyCount>;
  /** The first session's hash before and after: same fields and a TTL that only ran down means nothing wrote it. */
  hash: { unchanged: boolean; ttlBeforeMs: number; ttlAfterMs: number };
}

export interface RedisResults {
  settings: RedisSettings;
  redisVersion: string;
  keyPrefix: string;
  bodyBytes: { token: number; bare: number };
  one: InterleavedResult;
  fifty: InterleavedResult;
  writes: RedisWriteCount;
  memory: { product: ProcessSample; redis: ProcessSample };
  loginSeconds: number;
  /** Wall time of the whole section, start of redis-server to the last process stopped. */
  seconds: number;
}

/**
 * The product as several instances run it (SESSION_STORE=redis), against a bare route of its own:
 * a private redis-server on a free port (test/support/redis-server.ts, never the machine's 6379),
 * a provider with this product's redirect URI, sessions logged in through it, interleaved rounds
 * with one and with 50 sessions, then MONITOR around sequential token requests.
 */
export async function measureRedisSection(options: {
  workDir: string; settings: RedisSettings; children: RunningChild[]; say: (line: string) => void;
}): Promise<RedisResults> {
  const { settings, say } = options;
  const began = performance.now();
  const redis = await startRedisServer();
  let probe: RedisProbe | undefined;
  let provider: BenchProvider | undefined;
  try {
    probe = await openRedisProbe(redis.url);
    const port = await freePort();
    provider = await startProvider([port]);
    const secrets = generateSecrets();
    const product = await startProduct({
      name: 'product-redis', port, provider, secrets, workDir: options.workDir, redisUrl: redis.url, redisKeyPrefix: REDIS_KEY_PREFIX,
    });
    options.children.push(product);
    const alice = await logIn(product.url, TEST_USERS[0]!);
    const sample = await checkTokenAnswer(product.url, alice, secrets.hivekitSecret, 'alice');
    const bare = await startBare({ name: 'bare-redis', body: bareBodyLike(sample.body), workDir: options.workDir });
    options.children.push(bare);
    const bareBytes = (await (await fetch(`${bare.url}${TOKEN_PATH}`)).arrayBuffer()).byteLength;
    say(`redis-server ${probe.version} (pid ${probe.pid}) ${redis.url}, product ${product.url} (pid ${product.pid}), bare ${bare.url} (pid ${bare.pid})`);

    const productTarget = (cookies: string[]): Target => ({ child: product, cookies, redis: probe });
    const bareTarget = (cookies: string[]): Target => ({ child: bare, cookies });
    const rounds = { connections: settings.connections, seconds: settings.roundSeconds, rounds: settings.rounds, onRound: say };
    say('9.1 Redis: throughput, one session');
    const one = await runInterleaved({ bare: bareTarget([alice]), token: productTarget([alice]) }, { ...rounds, warmupSeconds: settings.warmupSeconds });

    say(`9.2 Redis: ${settings.sessions} logins, throughput with ${settings.sessions} sessions`);
    const loginsBegan = performance.now();
    const cookies = [alice];
    for (let i = 1; i < settings.sessions; i += 1) cookies.push(await logIn(product.url, TEST_USERS[i % TEST_USERS.length]!));
    const loginSeconds = (performance.now() - loginsBegan) / 1000;
    // The product is warm from 9.1: a short warm-up for the new sessions' first reads.
    const fifty = await runInterleaved({ bare: bareTarget(cookies), token: productTarget(cookies) }, { ...rounds, warmupSeconds: 1 });

    say(`9.3 Redis: MONITOR around ${settings.sequentialRequests} sequential token requests`);
    const writes = await countRedisWrites(productTarget(cookies), probe, sessionIdOf(alice), settings.sequentialRequests);
    const memory = { product: sampleProcess(product.pid), redis: sampleProcess(probe.pid) };
    await bare.stop();
    await product.stop();
    return {
      settings, redisVersion: probe.version, keyPrefix: REDIS_KEY_PREFIX, bodyBytes: { token: sample.bytes, bare: bareBytes },
      one, fifty, writes, memory, loginSeconds, seconds: (performance.now() - began) / 1000,
    };
  } finally {
    await probe?.close();
    await provider?.close();
    await redis.stop();
  }
}

/**
 * Sequential token requests with MONITOR on: every command the product sends and every command a
 * script runs for it, attributed by key. The token route answers only after its reads and any
 * touch have been answered by Redis, so each request's commands are in before its response ends.
 */
async function countRedisWrites(target: Target, probe: RedisProbe, sid: string, requests: number): Promise<RedisWriteCount> {
  const key = `${SESSION_KEYS}${sid}`;
  const before = await probe.readHash(key);
  const monitor = await probe.monitor();
  let non200 = 0;
  let commands: MonitoredCommand[] = [];
  try {
    for (let i = 0; i < requests; i += 1) {
      const response = await fetch(`${target.child.url}${TOKEN_PATH}`, { headers: { ...TOKEN_HEADERS, cookie: target.cookies[i % target.cookies.length]! } });
      await response.arrayBuffer();
      if (response.status !== 200) non200 += 1;
    }
  } finally {
    commands = await monitor.stop();
  }
  const after = await probe.readHash(key);
  const families = Object.fromEntries(KEY_FAMILIES.map((family) => [family, { sent: {}, writes: {} }])) as Record<KeyFamily, FamilyCount>;
  const add = (counts: Record<string, number>, name: string) => { counts[name] = (counts[name] ?? 0) + 1; };
  for (const command of commands) {
    const family: KeyFamily = command.key?.startsWith(SESSION_KEYS) ? 'session' : command.key?.startsWith(TOKEN_LIMIT_KEYS) ? 'token limit' : 'other';
    if (!command.fromScript) add(families[family].sent, command.name);
    if (command.write) add(families[family].writes, command.name);
  }
  return {
    requests,
    non200,
    families,
    hash: {
      unchanged: sortedJson(before.fields) === sortedJson(after.fields) && Object.keys(before.fields).length > 0 && after.ttlMs > 0 && after.ttlMs <= before.ttlMs,
      ttlBeforeMs: before.ttlMs,
      ttlAfterMs: after.ttlMs,
    },
  };
}

function sortedJson(fields: Record<string, string>): string {
  return JSON.stringify(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1)));
}
