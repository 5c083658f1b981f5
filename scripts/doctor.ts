import { resolve } from 'node:path';
import { ConfigError, isDevMode, loadConfig, type Config } from '../server/config/load-config.ts';
import { formatCheck } from '../server/doctor/check-result.ts';
import { diagnose } from '../server/doctor/diagnose.ts';

const USAGE = `Usage:
  npm run doctor

Checks the configuration in the environment (the same settings as the service) against the live
world: settings, the provider's discovery, issuer, keys and token endpoint (with the client's
credentials), the redirect URI, the session store (writes and deletes a probe record), the
policy, the Hivekit secret and the clock. One line per check, with a fix for each failure.
Exits 0 when every check passes, 1 otherwise.`;

if (process.argv.length > 2) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

let config: Config;
try {
  const env = process.env;
  const dataDir = resolve(env.DATA_DIR?.trim() || './data');
  // Dev mode: the generated secrets in the data folder, as `npm start` uses them.
  const dev = isDevMode(env) ? await (await import('../server/dev/dev-mode.ts')).devConfigDefaults(dataDir, env.DEV_OIDC_PORT?.trim() || '3001') : undefined;
  config = loadConfig(env, dev?.defaults);
} catch (error) {
  const problems = error instanceof ConfigError ? error.problems : [error instanceof Error ? error.message : String(error)];
  for (const problem of problems) process.stdout.write(`${formatCheck({ name: 'settings', ok: false, detail: problem, fix: 'see the README\'s Settings table' })}\n`);
  process.exit(1);
}

process.stdout.write(`${formatCheck({ name: 'settings', ok: true, detail: `valid (${config.isProduction ? 'production' : config.devMode ? 'dev mode' : 'not production'})` })}\n`);
const results = await diagnose(config);
for (const result of results) process.stdout.write(`${formatCheck(result)}\n`);
const failed = results.filter((result) => !result.ok).length;
process.stdout.write(failed === 0 ? '\nAll checks passed.\n' : `\n${failed} check(s) failed: see FAIL above.\n`);
process.exit(failed === 0 ? 0 : 1);
