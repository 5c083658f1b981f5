import { ConfigError } from '../server/config/load-config.ts';
import { loadEnvironmentConfig } from '../server/config/load-environment.ts';
import { createJsonLogger } from '../server/logging/logger.ts';
import { openSessionStore } from '../server/sessions/open-session-store.ts';

const USAGE = `Usage:
  npm run sessions -- list [--sub <sub>]
  npm run sessions -- revoke --sub <sub>
  npm run sessions -- revoke --all

Incident response on the configured session store (SQLite or Redis, the same settings as the
service): list live sessions (fingerprints only, never ids or tokens), or end every session of one
user, or everyone's. An ended session's open pages get 401 at their next token renewal, on every
instance. Exits 0 on success, 2 on a usage or settings error, 1 when the store cannot be reached.`;

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = rest.indexOf(name);
  return at === -1 ? undefined : rest[at + 1];
};
const sub = flag('--sub');
const all = rest.includes('--all');
const usable = (command === 'list' && (sub !== undefined || rest.length === 0))
  || (command === 'revoke' && ((sub !== undefined && !all) || (all && sub === undefined)));
if (!usable || (sub !== undefined && sub.length === 0)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

let config;
try {
  config = (await loadEnvironmentConfig(process.env)).config;
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `Cannot read the settings: ${error instanceof Error ? error.message : String(error)}`}\n`);
  process.exit(2);
}

const logger = createJsonLogger({ level: 'warn', write: (text) => process.stderr.write(text) });
const store = await openSessionStore(config, { logger });
try {
  if (!(await waitUntilHealthy(() => store.sessions.isHealthy()))) throw new Error(`the ${store.sessions.name} session store cannot be reached`);
  if (command === 'list') {
    const sessions = await store.sessions.listOwnedBy(sub);
    for (const session of sessions) {
      const when = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());
      process.stdout.write(`${session.session}  sub=${JSON.stringify(session.sub ?? null)}  login=${when(session.createdAt)}  active=${when(session.lastActiveAt)}  ends=${when(session.expiresAt)}\n`);
    }
    process.stdout.write(`${sessions.length} session${sessions.length === 1 ? '' : 's'}\n`);
  } else {
    const ended = all ? await store.sessions.destroyAll() : await store.sessions.destroyOwnedBy({ sub });
    process.stdout.write(`ended ${ended} session${ended === 1 ? '' : 's'}${all ? '' : ` of ${JSON.stringify(sub)}`}\n`);
  }
  await store.close();
  process.exit(0);
} catch (error) {
  process.stderr.write(`Cannot ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
  await store.close().catch(() => undefined);
  process.exit(1);
}

async function waitUntilHealthy(check: () => Promise<boolean>): Promise<boolean> {
  // Redis connects in the background: give it a moment, not forever.
  for (let attempt = 0; attempt < 20; attempt += 1) {
    if (await check()) return true;
    await new Promise((done) => setTimeout(done, 100));
  }
  return false;
}
