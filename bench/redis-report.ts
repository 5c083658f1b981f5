import { median, type InterleavedResult, type RoundResult } from './measure-phases.ts';
import { mib, num, pct, table } from './markdown.ts';
import { KEY_FAMILIES, TOKEN_LIMIT_WRITES, type RedisResults } from './redis-section.ts';
import type { Verdict } from './report.ts';

// Issue 12: the token route on Redis at 55 % of the bare route or more (SQLite keeps its own target).
const REDIS_TARGET_RATIO = 0.55;

/** Write commands in a round other than the token limit's own (INCR, PEXPIRE): every session write path also issues HSET or DEL. */
export function sessionWritesIn(round: RoundResult): number {
  return Object.entries(round.redis?.commands ?? {})
    .filter(([name, stat]) => stat.write && !TOKEN_LIMIT_WRITES.includes(name))
    .reduce((sum, [, stat]) => sum + stat.calls, 0);
}

function callsPerRequest(round: RoundResult, name: string): number {
  return (round.redis?.commands[name]?.calls ?? 0) / Math.max(1, round.ok);
}

function medianRatio(run: InterleavedResult): number {
  return median(run.rounds.map((round) => round[1]!.requestsPerSecond / round[0]!.requestsPerSecond));
}

function medianOf(run: InterleavedResult, target: number, pick: (r: RoundResult) => number): number {
  return median(run.rounds.map((round) => pick(round[target]!)));
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const list = (counts: Record<string, number>) => Object.entries(counts).map(([name, n]) => `${name.toUpperCase()} ${num(n)}`).join(', ') || 'none';

function loadRounds(r: RedisResults): RoundResult[] {
  return [...r.one.rounds, ...r.fifty.rounds].map((round) => round[1]!);
}

export function redisVerdicts(r: RedisResults): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const [label, run] of [['one session', r.one], [`${r.settings.sessions} sessions`, r.fifty]] as const) {
    const ratio = medianRatio(run);
    verdicts.push({ target: `Redis: token/bare ≥ 55 % with ${label} (median of per-round ratios)`, measured: pct(ratio), met: ratio >= REDIS_TARGET_RATIO });
  }
  const w = r.writes;
  const sessionWrites = sum(w.families.session.writes) + sum(w.families.other.writes);
  const roundsWithWrites = loadRounds(r).filter((round) => sessionWritesIn(round) > 0).length;
  verdicts.push({
    target: 'Redis: zero session writes per token request in steady state',
    measured: `${sessionWrites} session write commands in ${w.requests} sequential requests (MONITOR); ${roundsWithWrites} load rounds with any`,
    met: sessionWrites === 0 && roundsWithWrites === 0 && w.hash.unchanged && w.non200 === 0,
  });
  return verdicts;
}

export function redisMethod(r: RedisResults): string {
  const s = r.settings;
  return `- **Redis (section 9)**: the same product started the same way with \`SESSION_STORE=redis\`, \`REDIS_URL\` at a redis-server ${r.redisVersion} that the bench starts on a free loopback port (test/support/redis-server.ts: \`--save '' --appendonly no\`, \`maxmemory-policy noeviction\`; never the machine's Redis) and \`REDIS_KEY_PREFIX=${r.keyPrefix}\`; its own provider, logins and bare route (${r.bodyBytes.bare} bytes vs the product's ${r.bodyBytes.token}). Interleaved rounds of ${s.roundSeconds} s after a warm-up of ${s.warmupSeconds} s (1 s before the ${s.sessions}-session rounds, the product being warm by then). redis-server runs on the same cores: its CPU per request (from /proc) is a column of its own and is not counted under other processes. **Writes** are counted two ways. Around every load round, \`INFO commandstats\` (which counts the commands a Lua script runs under their own names): every command with Redis' \`write\` flag except INCR and PEXPIRE, the token limit's, is a session write; each session write path of the product writes the session's hash with HSET or removes it with DEL (a touch is HSET and PEXPIRE in a script), so none hides behind PEXPIRE. And \`MONITOR\` around ${num(s.sequentialRequests)} sequential token requests over the ${s.sessions} sessions: every command sent and every command run inside a script, attributed by key (session hashes, token-limit counters, anything else) and classed by Redis' own \`write\` flag (\`COMMAND INFO\`). The token limit's count is a write by nature (one counter for every instance) and is reported apart, not as a session write. A token request is one EVAL sent: the token limit's count and, within the limit, the session's HMGET, in one script (MONITOR attributes the EVAL to the session hash, its first key; the INCR and HMGET it runs to their own keys). Steady state means sessions not due for their touch: they were logged in less than the touch interval (5 min at the 8 h idle timeout) before; a due touch is one EVAL (HSET, PEXPIRE) per session per interval and is not in these numbers.`;
}

export function renderRedisSection(r: RedisResults, connections: number): string[] {
  const out: string[] = [];
  out.push('## 9. Redis session store (`SESSION_STORE=redis`)', '');
  out.push(`### 9.1 Throughput, one session (${connections} connections)`, '');
  out.push(redisThroughputTable(r.one), '');
  out.push(`### 9.2 Throughput, ${r.settings.sessions} sessions (${connections} connections, cookies rotating round-robin)`, '');
  out.push(`Sessions from ${r.settings.sessions} logins through the provider (alice, bob and carol in turn), ${r.loginSeconds.toFixed(1)} s in all. The bare route gets the same rotating Cookie headers.`, '');
  out.push(redisThroughputTable(r.fifty), '');
  const w = r.writes;
  const per = (n: number) => (n / w.requests).toFixed(3);
  out.push(`### 9.3 Redis commands per token request (MONITOR around ${num(w.requests)} sequential requests, ${w.non200} non-200)`, '');
  out.push(table(['keys', 'sent by the product', 'write commands run (sent or inside a script)', 'writes per token request'], KEY_FAMILIES.map((family) => {
    const f = w.families[family];
    const label = family === 'session' ? `session hashes (\`${r.keyPrefix}sess:*\`)` : family === 'token limit' ? `token-limit counters (\`${r.keyPrefix}rl:token:*\`)` : 'any other key, or none';
    return [label, list(f.sent), list(f.writes), per(sum(f.writes))];
  })), '');
  out.push(`The first session's hash afterwards: ${w.hash.unchanged ? 'same fields' : '**changed**'}, TTL ${(w.hash.ttlBeforeMs / 1000).toFixed(1)} s before and ${(w.hash.ttlAfterMs / 1000).toFixed(1)} s after (${w.hash.ttlAfterMs <= w.hash.ttlBeforeMs ? 'only ran down: no PEXPIRE' : 'extended'}). Load rounds (9.1, 9.2) with a session write command in \`INFO commandstats\`: ${loadRounds(r).filter((round) => sessionWritesIn(round) > 0).length} of ${loadRounds(r).length}. Memory after the section: product peak RSS ${mib(r.memory.product.peakRssKiB)}, redis-server RSS ${mib(r.memory.redis.rssKiB)}.`, '');
  return out;
}

function redisThroughputTable(run: InterleavedResult): string {
  const rows = run.rounds.map((round, i) => {
    const [bare, token] = [round[0]!, round[1]!];
    return [
      String(i + 1), num(bare.requestsPerSecond), num(token.requestsPerSecond), pct(token.requestsPerSecond / bare.requestsPerSecond),
      bare.cpuMsPerRequest.toFixed(3), token.cpuMsPerRequest.toFixed(3), (token.redis?.cpuMsPerRequest ?? NaN).toFixed(3), token.generatorCpuMsPerRequest.toFixed(3),
      `${callsPerRequest(token, 'eval').toFixed(2)} / ${callsPerRequest(token, 'hmget').toFixed(2)}`, num(sessionWritesIn(token)),
      `${bare.failures} / ${token.failures}`, `${bare.otherCores.toFixed(2)} / ${token.otherCores.toFixed(2)}`,
    ];
  });
  rows.push([
    '**median**', `**${num(medianOf(run, 0, (r) => r.requestsPerSecond))}**`, `**${num(medianOf(run, 1, (r) => r.requestsPerSecond))}**`, `**${pct(medianRatio(run))}**`,
    medianOf(run, 0, (r) => r.cpuMsPerRequest).toFixed(3), medianOf(run, 1, (r) => r.cpuMsPerRequest).toFixed(3),
    medianOf(run, 1, (r) => r.redis?.cpuMsPerRequest ?? NaN).toFixed(3), medianOf(run, 1, (r) => r.generatorCpuMsPerRequest).toFixed(3), '', '', '', '',
  ]);
  return table(['round', 'bare req/s', 'token req/s', 'token/bare', 'bare CPU ms/req', 'product CPU ms/req', 'redis-server CPU ms/req', 'generator CPU ms/req (token)',
    'EVAL sent / HMGET run in it, per request', 'session write commands', 'failed answers bare / token', 'other processes, cores (bare / token)'], rows);
}

/** Sentences computed from the numbers; `sqliteTokenCpuMs` compares with section 1 when the full bench ran. */
export function redisReading(r: RedisResults, sqliteTokenCpuMs?: number): string[] {
  const one = medianRatio(r.one);
  const fifty = medianRatio(r.fifty);
  const productCpu = medianOf(r.one, 1, (x) => x.cpuMsPerRequest);
  const redisCpu = medianOf(r.one, 1, (x) => x.redis?.cpuMsPerRequest ?? NaN);
  const bareCpu = medianOf(r.one, 0, (x) => x.cpuMsPerRequest);
  const state = (ratio: number) => (ratio >= REDIS_TARGET_RATIO ? 'meets' : 'misses');
  const w = r.writes;
  const limitWrites = sum(w.families['token limit'].writes) / w.requests;
  return [
    `- **Redis throughput**: the token route on Redis serves ${pct(one)} of the bare route with one session (${state(one)} the 55 % target) and ${pct(fifty)} with ${r.settings.sessions} sessions (${state(fifty)} it). Per request the product spends ${productCpu.toFixed(3)} ms of CPU${sqliteTokenCpuMs === undefined ? '' : ` (${sqliteTokenCpuMs.toFixed(3)} ms on SQLite, section 1)`} and redis-server ${redisCpu.toFixed(3)} ms on the same cores, against ${bareCpu.toFixed(3)} ms for the bare route.`,
    `- **Redis writes**: ${sum(w.families.session.writes) + sum(w.families.other.writes)} session write commands in ${num(w.requests)} sequential token requests, and ${loadRounds(r).filter((round) => sessionWritesIn(round) > 0).length} load rounds with any; the token limit writes ${limitWrites.toFixed(3)} per request (${list(w.families['token limit'].writes)}), by design: one counter in Redis for every instance. With AOF persistence or a replica each of those is also appended or replicated.`,
  ];
}
