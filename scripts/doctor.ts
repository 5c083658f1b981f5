import { ConfigError, type Config } from '../server/config/load-config.ts';
import { loadEnvironmentConfig } from '../server/config/load-environment.ts';
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
  config = (await loadEnvironmentConfig(process.env)).config;
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
