import { ConfigError } from '../server/config/load-config.ts';
import { loadEnvironmentConfig } from '../server/config/load-environment.ts';
import { explainToken } from '../server/tokens/explain-token.ts';

const USAGE = `Usage:
  npm run token -- verify <jwt>

Decodes a Hivekit access token, verifies it with the configured secret (HIVEKIT_SECRET, or dev
mode's generated one) and explains each claim: the first thing to run when Hivekit refuses a token.
Exits 0 when Hivekit should take the token, 1 when it should not, 2 on a usage or settings error.`;

const [command, token] = process.argv.slice(2);
if (command !== 'verify' || !token) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

try {
  const config = (await loadEnvironmentConfig(process.env)).config;
  const findings = explainToken(token, {
    secret: config.hivekit.secret, secretId: config.hivekit.secretId, tenantId: config.hivekit.tenantId,
    issuer: config.hivekit.issuer, now: Math.floor(Date.now() / 1000),
  });
  for (const finding of findings) process.stdout.write(`${finding.ok ? 'ok  ' : 'FAIL'}  ${finding.part.padEnd(9)} ${finding.text}\n`);
  const ok = findings.every((finding) => finding.ok);
  process.stdout.write(ok ? '\nHivekit should accept this token.\n' : '\nHivekit will refuse this token: see FAIL above.\n');
  process.exit(ok ? 0 : 1);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `Cannot verify: ${error instanceof Error ? error.message : String(error)}`}\n`);
  process.exit(2);
}
