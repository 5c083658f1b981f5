import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryLogger } from '../server/logging/logger.ts';
import { connectRedis, type RedisConnection } from '../server/sessions/redis-client.ts';

/** Calls and server time of one command since the last reset, from INFO commandstats. */
export interface CommandStat {
  calls: number;
  usec: number;
  /** Redis' own `write` flag for the command (COMMAND INFO). */
  write: boolean;
}

export type CommandStats = Record<string, CommandStat>;

/** One command as MONITOR shows it: sent by a client, or run by a script (`[0 lua]`). */
export interface MonitoredCommand {
  name: string;
  /** The first key (for EVAL, the first of KEYS), if the command has one. */
  key: string | undefined;
  fromScript: boolean;
  write: boolean;
}

export interface RedisProbe {
  /** redis-server's pid, for its CPU time in /proc. */
  readonly pid: number;
  readonly version: string;
  /**
   * Every command's calls since the server started. Redis counts the commands a Lua script runs
   * under their own names (checked on 7.0: an EVAL running INCR adds one `eval` and one `incr`).
   */
  commandStats(): Promise<CommandStats>;
  /** A key's fields and remaining TTL (PTTL, ms), to see whether anything wrote to it. */
  readHash(key: string): Promise<{ fields: Record<string, string>; ttlMs: number }>;
  /** MONITOR on a connection of its own until stop(), which returns every command seen in between. */
  monitor(): Promise<{ stop(): Promise<MonitoredCommand[]> }>;
  close(): Promise<void>;
}

/** The bench's own connections to the product's Redis, through the product's Redis adapter. */
export async function openRedisProbe(url: string): Promise<RedisProbe> {
  const logger = createMemoryLogger();
  const admin = await connected(connectRedis({ url, logger, commandTimeoutMs: 5000 }));
  const info = parseInfo(await admin.run((client) => client.info('server')));
  const writeFlags = new Map<string, boolean>();
  const isWrite = async (names: readonly string[]): Promise<void> => {
    const unknown = [...new Set(names)].filter((name) => !writeFlags.has(name));
    if (unknown.length === 0) return;
    // COMMAND INFO answers [name, arity, flags, …] per command, or nil for a name it does not know.
    const replies = (await admin.run((client) => client.sendCommand(['COMMAND', 'INFO', ...unknown]))) as Array<[string, number, string[]] | null>;
    unknown.forEach((name, i) => writeFlags.set(name, replies[i]?.[2]?.includes('write') ?? false));
  };
  const opened: RedisConnection[] = [admin];
  return {
    pid: Number(info.process_id),
    version: info.redis_version ?? 'unknown',
    async commandStats() {
      const stats: CommandStats = {};
      const lines = parseInfo(await admin.run((client) => client.info('commandstats')));
      for (const [field, value] of Object.entries(lines)) {
        const name = field.replace(/^cmdstat_/, '');
        const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
        const usec = Number(/usec=(\d+)/.exec(value)?.[1] ?? 0);
        stats[name] = { calls, usec, write: false };
      }
      await isWrite(Object.keys(stats).filter((name) => !name.includes('|')));
      for (const [name, stat] of Object.entries(stats)) stat.write = writeFlags.get(name) ?? false;
      return stats;
    },
    async readHash(key) {
      const [fields, ttlMs] = await Promise.all([admin.run((client) => client.hGetAll(key)), admin.run((client) => client.pTTL(key))]);
      return { fields: { ...fields }, ttlMs };
    },
    async monitor() {
      const watcher = await connected(connectRedis({ url, logger, commandTimeoutMs: 5000 }));
      opened.push(watcher);
      const lines: string[] = [];
      await watcher.client.monitor((line) => { lines.push(String(line)); });
      return {
        async stop() {
          // Redis feeds monitors in execution order: once a marker sent after the burst is seen, so is everything before it.
          const marker = `bench-monitor-end-${randomBytes(6).toString('hex')}`;
          await admin.run((client) => client.echo(marker));
          for (let waited = 0; !lines.some((line) => line.includes(marker)); waited += 10) {
            if (waited > 5000) throw new Error('MONITOR did not show the end marker within 5 s');
            await sleep(10);
          }
          await watcher.close();
          const commands = lines.filter((line) => !line.includes(marker)).map(parseMonitorLine).filter((c) => c !== undefined);
          await isWrite(commands.map((c) => c.name));
          return commands.map((c) => ({ ...c, write: writeFlags.get(c.name) ?? false }));
        },
      };
    },
    close: async () => { await Promise.all(opened.map((connection) => connection.close())); },
  };
}

async function connected(connection: RedisConnection): Promise<RedisConnection> {
  for (let waited = 0; !connection.client.isReady; waited += 10) {
    if (waited > 10_000) throw new Error('the bench could not connect to its Redis within 10 s');
    await sleep(10);
  }
  return connection;
}

function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

/** `1700000000.123456 [0 127.0.0.1:5000] "EVAL" "<script>" "1" "key" …`, or `[0 lua]` for a script's own commands. */
function parseMonitorLine(line: string): Omit<MonitoredCommand, 'write'> | undefined {
  const source = /^\S+ \[\d+ ([^\]]+)\]/.exec(line);
  if (!source) return undefined;
  const args = [...line.slice(source[0].length).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
  const name = args[0]?.toLowerCase();
  if (!name) return undefined;
  const scripted = name === 'eval' || name === 'evalsha' || name === 'eval_ro' || name === 'evalsha_ro' || name === 'fcall';
  const key = scripted ? (Number(args[2]) > 0 ? args[3] : undefined) : args[1];
  return { name, key, fromScript: source[1] === 'lua' };
}
