import { readFileSync, statSync } from 'node:fs';
import { checkSecretReuse, checkSecretStrength, decodeHivekitSecret } from './check-secrets.ts';

/** A Hivekit signing secret and the id Hivekit knows it by (the token header's kid). */
export interface HivekitKey {
  readonly kid: string;
  readonly secret: Buffer;
}

export interface SecretFileChecks {
  /** Production also refuses weak secrets and secrets that double as another. */
  readonly isProduction: boolean;
  readonly otherSecrets: { readonly sessionSecrets: readonly string[]; readonly clientSecret: string };
}

export type SecretFileResult =
  | { readonly ok: true; readonly key: HivekitKey; readonly text: string }
  | { readonly ok: false; readonly problems: readonly string[]; readonly text: string | null };

// Group and other permission bits: a signing secret is for its owner alone.
const NOT_OWNER_ONLY = 0o077;
const FILE_KEYS = ['kid', 'secret'];

/**
 * Checks the text and permission bits of HIVEKIT_SECRET_FILE: JSON {"kid": "...", "secret":
 * "<strict base64>"}, owner-only, the secret held to the checks HIVEKIT_SECRET gets. Problems name
 * the file and what is wrong, never a value: JSON.parse's own message quotes the text, so it is not passed on.
 */
export function parseHivekitSecretFile(path: string, text: string, mode: number, checks: SecretFileChecks): SecretFileResult {
  const problems: string[] = [];
  const where = `HIVEKIT_SECRET_FILE: ${path}`;
  if ((mode & NOT_OWNER_ONLY) !== 0) {
    problems.push(`${where} is open to group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it owner-only: chmod 600 ${JSON.stringify(path)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    problems.push(`${where} is not valid JSON; expected {"kid": "<secret id in Hivekit>", "secret": "<base64>"}`);
    return { ok: false, problems, text };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`${where} is not a JSON object; expected {"kid": "<secret id in Hivekit>", "secret": "<base64>"}`);
    return { ok: false, problems, text };
  }
  const fields = parsed as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !FILE_KEYS.includes(name));
  if (unknown.length > 0) problems.push(`${where} has unknown field(s) ${unknown.map((name) => JSON.stringify(name.slice(0, 40))).join(', ')}; expected only "kid" and "secret"`);
  const kid = fields.kid;
  // The kid ends up in every token header: printable ASCII only, as HIVEKIT_SECRET_ID.
  if (typeof kid !== 'string' || !/^[\x20-\x7e]+$/.test(kid)) problems.push(`${where} "kid" must be a non-empty string of printable ASCII (the secret's id in Hivekit)`);
  let secret: Buffer = Buffer.alloc(0);
  if (typeof fields.secret !== 'string' || fields.secret === '') {
    problems.push(`${where} "secret" must be a string: strict base64 decoding to at least 32 bytes`);
  } else {
    const source = `${where} "secret"`;
    secret = decodeHivekitSecret(fields.secret, source, problems);
    if (checks.isProduction && secret.length > 0) {
      const secrets = { ...checks.otherSecrets, hivekitSecretText: fields.secret, hivekitSecret: secret, hivekitSource: source };
      checkSecretStrength({ ...secrets, sessionSecrets: [] }, problems);
      checkSecretReuse(secrets, problems);
    }
  }
  if (problems.length > 0) return { ok: false, problems, text };
  return { ok: true, key: { kid: kid as string, secret }, text };
}

/** Reads and checks the file (permissions from stat, which follows a ConfigMap's or Secret's links). */
export function readHivekitSecretFile(path: string, checks: SecretFileChecks): SecretFileResult {
  let mode: number;
  let text: string;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return { ok: false, problems: [`HIVEKIT_SECRET_FILE: ${path} is not a file`], text: null };
    mode = stats.mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, problems: [`HIVEKIT_SECRET_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`], text: null };
  }
  return parseHivekitSecretFile(path, text, mode, checks);
}
