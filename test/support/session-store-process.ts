/**
 * The SQLite session store in a process of its own, driven over stdin/stdout one JSON line at a time,
 * so that a test can kill it (SIGKILL) with writes done and see what another process finds after.
 * Usage: node --import tsx test/support/session-store-process.ts <db path>
 */
import { createInterface } from 'node:readline';
import { createMemoryLogger } from '../../server/logging/logger.ts';
import { openSqliteSessionStore } from '../../server/sessions/sqlite-session-store.ts';

const store = await openSqliteSessionStore({
  path: process.argv[2]!, idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400, logger: createMemoryLogger(),
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { op: 'set' | 'get'; sid: string; data?: object };
  const answer = await new Promise<object>((resolve) => {
    if (command.op === 'set') store.store.set(command.sid, command.data as never, (error) => resolve({ ok: !error }));
    else store.store.get(command.sid, (error, data) => resolve({ ok: !error, data: data ?? null }));
  });
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
