import { closeSync, openSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleMachine, sampleProcess, type RunningChild } from './child-process.ts';
import { measurePaced, measureThroughput, median, percentile, TOKEN_HEADERS, TOKEN_PATH, type PacedResult, type ThroughputResult } from './load.ts';
import type { CommandStats, RedisProbe } from './redis-probe.ts';
import { readSessionRow, watchCommits } from './session-tables.ts';

export interface Target {
  child: RunningChild;
  cookies: readonly string[];
  /** The product's SQLite file, watched for commits while the target is under load. */
  dbPath?: string;
  /** Path and query asked for; the token route without parameters unless given. */
  path?: string;
  /** The product's Redis: its command counts and CPU are taken around every round. */
  redis?: RedisProbe;
}

export interface RedisRoundStats {
  /** redis-server's user+system CPU over the round, divided by the round's 200 answers. */
  cpuMsPerRequest: number;
  /** INFO commandstats over the round: calls and server time per command. */
  commands: CommandStats;
}

export interface RoundResult extends ThroughputResult {
  cpuMsPerRequest: number;
  /** CPU the load generator (this process) spent per request. */
  generatorCpuMsPerRequest: number;
  /** Whether the target's database saw any commit during the round (undefined: no database). */
  committed: boolean | undefined;
  /** CPU used by every other process on the machine during the round, in cores (1 = one core busy). */
  otherCores: number;
  /** CPU the hypervisor took from this machine during the round, in cores. */
  stolenCores: number;
  /** Set for a target on Redis; its CPU is not counted in otherCores. */
  redis?: RedisRoundStats;
}

/** One saturation run against one target, with the target's CPU and its database's commits around it. */
export async function runRound(target: Target, options: { connections: number; seconds: number }): Promise<RoundResult> {
  const watcher = target.dbPath ? await watchCommits(target.dbPath) : undefined;
  const commandsBefore = await target.redis?.commandStats();
  const redisCpuBefore = target.redis ? sampleProcess(target.redis.pid).cpuMs : 0;
  const cpuBefore = sampleProcess(target.child.pid).cpuMs;
  const ownBefore = process.cpuUsage();
  const machineBefore = sampleMachine();
  const started = performance.now();
  const result = await measureThroughput(target.child.url, target.cookies, { ...options, ...(target.path ? { path: target.path } : {}) });
  const wallMs = performance.now() - started;
  const machine = sampleMachine();
  const own = process.cpuUsage(ownBefore);
  const cpuMs = sampleProcess(target.child.pid).cpuMs - cpuBefore;
  const redisCpuMs = target.redis ? sampleProcess(target.redis.pid).cpuMs - redisCpuBefore : 0;
  const ownMs = (own.user + own.system) / 1000;
  const otherMs = machine.busyMs - machineBefore.busyMs - cpuMs - ownMs - redisCpuMs;
  const committed = watcher ? await watcher.committedSinceLastCall() : undefined;
  await watcher?.close();
  const ok = Math.max(1, result.ok);
  const redis = target.redis && commandsBefore
    ? { cpuMsPerRequest: redisCpuMs / ok, commands: subtractStats(await target.redis.commandStats(), commandsBefore) }
    : undefined;
  return {
    ...result, cpuMsPerRequest: cpuMs / ok, generatorCpuMsPerRequest: ownMs / ok, committed,
    otherCores: Math.max(0, otherMs) / wallMs, stolenCores: (machine.stealMs - machineBefore.stealMs) / wallMs,
    ...(redis ? { redis } : {}),
  };
}

/** Commands called between two INFO commandstats readings (the reading itself adds one `info`). */
export function subtractStats(after: CommandStats, before: CommandStats): CommandStats {
  const delta: CommandStats = {};
  for (const [name, stat] of Object.entries(after)) {
    const calls = stat.calls - (before[name]?.calls ?? 0);
    if (calls > 0) delta[name] = { calls, usec: stat.usec - (before[name]?.usec ?? 0), write: stat.write };
  }
  return delta;
}

export interface InterleavedResult {
  names: string[];
  /** rounds[r][t]: round r, target t. */
  rounds: RoundResult[][];
}

/**
 * A warm-up of every target, then `rounds` rounds that each run every target once in turn (A, B, A,
 * B …), so slow drift of the machine hits all targets alike.
 */
export async function runInterleaved(targets: Record<string, Target>, options: {
  connections: number; warmupSeconds: number; seconds: number; rounds: number; onRound?: (line: string) => void;
}): Promise<InterleavedResult> {
  const names = Object.keys(targets);
  for (const name of names) await runRound(targets[name]!, { connections: options.connections, seconds: options.warmupSeconds });
  const rounds: RoundResult[][] = [];
  for (let r = 0; r < options.rounds; r += 1) {
    const round: RoundResult[] = [];
    for (const name of names) round.push(await runRound(targets[name]!, { connections: options.connections, seconds: options.seconds }));
    rounds.push(round);
    options.onRound?.(`  round ${r + 1}: ${names.map((n, i) => `${n} ${Math.round(round[i]!.requestsPerSecond)} req/s`).join(', ')}`);
  }
  return { names, rounds };
}

export interface LatencySummary {
  requests: number;
  errors: number;
  non200: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** p99 measured from when each request was due rather than when it was sent. */
  p99FromDue: number;
  generatorLagP99: number;
}

export function summariseLatency(results: readonly PacedResult[]): LatencySummary {
  const samples = results.flatMap((r) => r.samples);
  const service = samples.filter((s) => s.status === 200).map((s) => s.serviceMs);
  return {
    requests: samples.length,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    non200: samples.filter((s) => s.status !== 200).length,
    p50: percentile(service, 50),
    p90: percentile(service, 90),
    p99: percentile(service, 99),
    max: Math.max(...service),
    p99FromDue: percentile(samples.map((s) => s.fromDueMs), 99),
    generatorLagP99: Math.max(...results.map((r) => r.sendLagP99Ms)),
  };
}

/** Paced latency rounds, alternating the targets, pooled per target. */
export async function measureLatencies(targets: Record<string, Target>, options: {
  ratePerSecond: number; seconds: number; rounds: number; maxSockets: number;
}): Promise<Record<string, LatencySummary>> {
  const collected: Record<string, PacedResult[]> = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
  for (let r = 0; r < options.rounds; r += 1) {
    for (const [name, target] of Object.entries(targets)) {
      collected[name]!.push(await measurePaced(target.child.url, target.cookies, options));
    }
  }
  return Object.fromEntries(Object.entries(collected).map(([name, results]) => [name, summariseLatency(results)]));
}

export interface WriteCount {
  requests: number;
  non200: number;
  /** Requests after which another connection's commit was visible: an upper bound on writes. */
  requestsFollowedByCommit: number;
  rowUnchanged: boolean;
}

/**
 * Sequential token requests, each followed by `PRAGMA data_version` on the bench's own connection.
 * express-session holds the response until a touch or save has called back, so a write made for a
 * request is committed before its response ends and is seen right after it.
 */
export async function countStoreWrites(target: Target, sid: string, requests: number): Promise<WriteCount> {
  const dbPath = target.dbPath!;
  const before = await readSessionRow(dbPath, sid);
  const watcher = await watchCommits(dbPath);
  let followed = 0;
  let non200 = 0;
  try {
    for (let i = 0; i < requests; i += 1) {
      const response = await fetch(`${target.child.url}${TOKEN_PATH}`, { headers: { ...TOKEN_HEADERS, cookie: target.cookies[i % target.cookies.length]! } });
      await response.arrayBuffer();
      if (response.status !== 200) non200 += 1;
      if (await watcher.committedSinceLastCall()) followed += 1;
    }
  } finally {
    await watcher.close();
  }
  const after = await readSessionRow(dbPath, sid);
  return {
    requests,
    non200,
    requestsFollowedByCommit: followed,
    rowUnchanged: before !== undefined && after !== undefined && before.expired === after.expired && before.sess === after.sess,
  };
}

export interface CleanupResult {
  requests: number;
  errors: number;
  non200: number;
  /** Sum of `deleted` over the product's `sessions_cleaned` log lines during the stream. */
  deleted: number;
  /** First and last commit seen by polling every 100 ms, seconds into the stream (the token route itself writes nothing). */
  writeWindowSeconds: [number, number] | undefined;
  streamSeconds: number;
  maxFromDueMs: number;
  maxAtSeconds: number;
  p99FromDueMs: number;
  maxInWindowMs: number | undefined;
  p99InWindowMs: number | undefined;
  over100ms: number;
}

/**
 * A steady paced stream of token requests until the product's cleanup has come and gone: commits
 * seen on the database, then `quietSeconds` without one; or `capSeconds`.
 */
export async function measureCleanupStall(target: Target, options: { ratePerSecond: number; capSeconds: number; quietSeconds: number }): Promise<CleanupResult> {
  const watcher = await watchCommits(target.dbPath!);
  const log = followLog(target.child.logFile);
  const begin = performance.now();
  const seconds = () => (performance.now() - begin) / 1000;
  const commits: number[] = [];
  let deleted = 0;
  let stop = false;
  const poll = (async () => {
    while (!stop) {
      await sleep(100);
      if (await watcher.committedSinceLastCall()) commits.push(seconds());
      for (const line of log.newLines()) {
        if (line.includes('"event":"sessions_cleaned"')) deleted += Number((JSON.parse(line) as { deleted?: unknown }).deleted) || 0;
      }
    }
  })();
  const result = await measurePaced(target.child.url, target.cookies, {
    ratePerSecond: options.ratePerSecond,
    seconds: options.capSeconds,
    maxSockets: 256,
    timeoutMs: 60_000,
    shouldStop: () => commits.length > 0 && seconds() - commits.at(-1)! > options.quietSeconds,
  });
  stop = true;
  await poll;
  await watcher.close();
  const samples = result.samples;
  const worst = samples.reduce((a, b) => (b.fromDueMs > a.fromDueMs ? b : a), samples[0]!);
  const window: [number, number] | undefined = commits.length > 0 ? [commits[0]! - 0.1, commits.at(-1)!] : undefined;
  // A request belongs to the cleanup if it was still waiting when the first commit was seen, or was due before the last.
  const inWindow = window ? samples.filter((s) => (s.dueMs + s.fromDueMs) / 1000 >= window[0] && s.dueMs / 1000 <= window[1]) : [];
  return {
    requests: samples.length,
    errors: result.errors,
    non200: samples.filter((s) => s.status !== 200).length,
    deleted,
    writeWindowSeconds: window,
    streamSeconds: seconds(),
    maxFromDueMs: worst.fromDueMs,
    maxAtSeconds: worst.dueMs / 1000,
    p99FromDueMs: percentile(samples.map((s) => s.fromDueMs), 99),
    maxInWindowMs: inWindow.length > 0 ? Math.max(...inWindow.map((s) => s.fromDueMs)) : undefined,
    p99InWindowMs: inWindow.length > 0 ? percentile(inWindow.map((s) => s.fromDueMs), 99) : undefined,
    over100ms: samples.filter((s) => s.fromDueMs > 100).length,
  };
}

/** New complete lines of a file that another process appends to. */
function followLog(path: string): { newLines(): string[] } {
  let offset = 0;
  let partial = '';
  return {
    newLines() {
      const fd = openSync(path, 'r');
      try {
        const chunks: Buffer[] = [];
        const buffer = Buffer.alloc(1 << 20);
        for (;;) {
          const read = readSync(fd, buffer, 0, buffer.length, offset);
          if (read === 0) break;
          offset += read;
          chunks.push(Buffer.from(buffer.subarray(0, read)));
        }
        const lines = (partial + Buffer.concat(chunks).toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        return lines;
      } finally {
        closeSync(fd);
      }
    },
  };
}

export { median };
