import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Config } from '../config/load-config.ts';
import { createJsonLogger } from '../logging/logger.ts';
import { formatPolicyProblem, loadPolicyFile } from '../policy/load-policy-file.ts';
import { openSessionStore } from '../sessions/open-session-store.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import type { CheckResult } from './check-result.ts';

const PROBE_LIFETIME_MS = 60_000;

function callbackToPromise(run: (done: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => run((error) => (error ? reject(error) : resolvePromise())));
}

async function waitUntilHealthy(sessions: SessionRepository, limitMs = 3000): Promise<boolean> {
  for (let waited = 0; waited < limitMs; waited += 100) {
    if (await sessions.isHealthy()) return true;
    await new Promise((done) => setTimeout(done, 100));
  }
  return sessions.isHealthy();
}

/** The session store opens and takes a write and a delete of a probe record (SQLite or Redis, as configured). */
export async function checkSessionStore(config: Config): Promise<CheckResult> {
  const kind = config.session.store.kind;
  const where = kind === 'redis' ? 'REDIS_URL' : `SESSION_DB ${resolve(config.session.dbPath)}`;
  const fix = kind === 'redis'
    ? 'check REDIS_URL (host, port, password, TLS) and that this machine reaches Redis'
    : 'SESSION_DB must be a file this user can create and write: make its folder writable, or choose another path';
  const logger = createJsonLogger({ level: 'silent' });
  let store: Awaited<ReturnType<typeof openSessionStore>>;
  try {
    store = await openSessionStore(config, { logger });
  } catch (error) {
    return { name: 'session store', ok: false, detail: `${where}: ${error instanceof Error ? error.message : String(error)}`, fix };
  }
  try {
    if (!(await waitUntilHealthy(store.sessions))) return { name: 'session store', ok: false, detail: `${store.sessions.name} (${where}) cannot be reached`, fix };
    const sid = `doctor-probe-${randomBytes(12).toString('base64url')}`;
    const record = { cookie: { originalMaxAge: PROBE_LIFETIME_MS, expires: new Date(Date.now() + PROBE_LIFETIME_MS).toISOString() } };
    await callbackToPromise((done) => store.sessions.write(sid, record, done));
    await callbackToPromise((done) => store.sessions.destroy(sid, done));
    return { name: 'session store', ok: true, detail: `${store.sessions.name} (${where}): wrote and deleted a probe record` };
  } catch (error) {
    return { name: 'session store', ok: false, detail: `${store.sessions.name} (${where}): ${error instanceof Error ? error.message : String(error)}`, fix };
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** The permissions policy compiles; its realms are listed so a typo in one stands out. */
export async function checkPolicy(config: Config): Promise<CheckResult> {
  if (!config.permissionsFile) return { name: 'policy', ok: true, detail: 'no PERMISSIONS_FILE: tokens carry empty per and dpv (see docs/POLICY.md)' };
  const loaded = await loadPolicyFile(config.permissionsFile);
  if (!loaded.ok) {
    return { name: 'policy', ok: false, detail: `${config.permissionsFile}: ${loaded.problems.map(formatPolicyProblem).join('; ')}`,
      fix: `correct the file; npm run policy -- check --file ${config.permissionsFile} explains each problem` };
  }
  const realms = new Set(loaded.policy.rules.flatMap((rule) => [...rule.per, ...rule.dpv].map((grant) => grant.realm)));
  return { name: 'policy', ok: true, detail: `${config.permissionsFile}: ${loaded.policy.rules.length} rule(s), realms ${[...realms].sort().join(', ') || '(none)'}` };
}

/** The Hivekit signing secret (HS256 needs 256 bits, RFC 7518 §3.2); loadConfig has refused anything less. */
export function checkHivekitSecret(config: Config): CheckResult {
  const bytes = config.hivekit.secret.length;
  const source = config.hivekit.secretFile ? `HIVEKIT_SECRET_FILE ${config.hivekit.secretFile}` : 'HIVEKIT_SECRET';
  if (bytes < 32) return { name: 'hivekit secret', ok: false, detail: `${source} decodes to ${bytes} bytes`, fix: 'use the secret Hivekit generated (base64 of at least 32 bytes)' };
  return { name: 'hivekit secret', ok: true, detail: `${source}: ${bytes} bytes, kid ${config.hivekit.secretId}, tenant ${config.hivekit.tenantId}` };
}
