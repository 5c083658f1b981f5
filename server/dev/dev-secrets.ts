import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface DevSecrets {
  /** base64 of 32 random bytes: RFC 7518 §3.2 wants HS256 keys of at least 256 bits. */
  hivekitSecret: string;
  hivekitSecretId: string;
  hivekitTenantId: string;
  sessionSecret: string;
  oidcClientSecret: string;
}

export const DEV_SECRETS_FILE = 'dev-secrets.json';

/**
 * Returns the dev-mode secrets kept in `dataDir/dev-secrets.json`, generating them on first run.
 * They are reused afterwards so that sessions and minted tokens survive a restart.
 */
export async function ensureDevSecrets(dataDir: string): Promise<DevSecrets & { created: boolean }> {
  const file = join(dataDir, DEV_SECRETS_FILE);
  const existing = await readDevSecrets(file);
  if (existing) return { ...existing, created: false };

  const fresh = generateDevSecrets();
  const won = await writeExclusively(dataDir, file, `${JSON.stringify(fresh, null, 2)}\n`);
  if (won) return { ...fresh, created: true };
  // Another process created the file between our read and our write: use its secrets, not ours.
  const theirs = await readDevSecrets(file);
  if (!theirs) throw new Error(`Dev secrets file ${file} vanished while starting; start again`);
  return { ...theirs, created: false };
}

function generateDevSecrets(): DevSecrets {
  return {
    hivekitSecret: randomBytes(32).toString('base64'),
    hivekitSecretId: `dev-key-${randomBytes(4).toString('hex')}`,
    hivekitTenantId: 'dev-tenant',
    sessionSecret: randomBytes(32).toString('base64url'),
    oidcClientSecret: randomBytes(32).toString('base64url'),
  };
}

async function readDevSecrets(file: string): Promise<DevSecrets | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw corrupt(file, code ?? (error as Error).message);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt(file, 'not valid JSON');
  }
  const problem = findProblem(value);
  if (problem) throw corrupt(file, problem);
  return value as DevSecrets;
}

function findProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  for (const key of ['hivekitSecret', 'hivekitSecretId', 'hivekitTenantId', 'sessionSecret', 'oidcClientSecret']) {
    if (typeof record[key] !== 'string' || record[key] === '') return `"${key}" is missing`;
  }
  const secret = record.hivekitSecret as string;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || Buffer.from(secret, 'base64').length !== 32) {
    return '"hivekitSecret" is not base64 of 32 bytes';
  }
  if ((record.sessionSecret as string).length < 32) return '"sessionSecret" is shorter than 32 characters';
  return undefined;
}

function corrupt(file: string, reason: string): Error {
  return new Error(
    `Dev secrets file ${file} is unreadable (${reason}). Delete it to generate new dev secrets; this signs out every dev session.`,
  );
}

/** Writes a temp file, then hard-links it into place: atomic, and never overwrites a file another process won with. */
async function writeExclusively(dataDir: string, file: string, content: string): Promise<boolean> {
  const temp = join(dataDir, `.${DEV_SECRETS_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return await link(temp, file).then(() => true, (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return false;
      throw error;
    });
  } catch (error) {
    throw new Error(`Cannot store dev secrets in ${dataDir}: ${(error as Error).message}`);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
