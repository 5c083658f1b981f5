import { open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/load-config.ts';
import { DEV_SECRETS_FILE } from '../dev/dev-secrets.ts';
import type { Logger } from '../logging/logger.ts';

/** A file the running process depends on, and what its disappearance means. */
export interface WatchedFile {
  readonly path: string;
  readonly what: string;
  readonly hint: string;
}

// SQLite file format §1.3.1: every database file starts with these 16 bytes.
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const POLL_MS = 5_000;

/** The files `watchDataFiles` watches for this configuration. */
export function dataFilesOf(config: Config): WatchedFile[] {
  const files: WatchedFile[] = [];
  if (config.session.store.kind === 'sqlite') {
    files.push({
      path: resolve(config.session.dbPath),
      what: 'session database (SESSION_DB)',
      hint: 'deleted or moved while running: sessions now go to a file no one can see and are lost at the next start; restart to create a new one (everyone logs in again)',
    });
  }
  if (config.devMode) {
    files.push({
      path: join(resolve(config.dataDir), DEV_SECRETS_FILE),
      what: 'dev secrets',
      hint: 'deleted while running: this process keeps the old ones, but the next start generates new secrets and every session and token made until then stops working; restore the file or restart now',
    });
  }
  return files;
}

/**
 * Refuses to start on a session file that is not an SQLite database (naming the file and what to
 * do, instead of SQLITE_NOTADB), then warns when a data file disappears while running: deleting
 * ./data goes unnoticed otherwise until the next start. Polled with stat, which opens nothing: closing
 * any descriptor of an open SQLite file would drop the process's locks on it. Returns the stop function.
 */
export async function watchDataFiles(config: Config, logger: Logger, pollMs = POLL_MS): Promise<() => Promise<void>> {
  if (config.session.store.kind === 'sqlite') await checkSessionFile(resolve(config.session.dbPath));
  if (config.staticDir !== undefined) await checkStaticDir(resolve(config.staticDir));
  const files = dataFilesOf(config);
  // Absent at start is not news (the session database is created after this runs); gone after being there is.
  const state = new Map<string, 'present' | 'missing' | 'not-yet'>();
  for (const file of files) state.set(file.path, (await exists(file.path)) ? 'present' : 'not-yet');
  const timer = setInterval(() => {
    for (const file of files) {
      void exists(file.path).then((now) => {
        const before = state.get(file.path);
        if (now) {
          if (before === 'missing') logger.info('data_file_back', { file: file.path, what: file.what });
          state.set(file.path, 'present');
        } else if (before === 'present') {
          state.set(file.path, 'missing');
          logger.warn('data_file_missing', { file: file.path, what: file.what, hint: file.hint });
        }
      });
    }
  }, pollMs);
  timer.unref();
  return async () => clearInterval(timer);
}

/** Run before the store opens it (see above). A missing or empty file is fine: SQLite creates it. */
export async function checkSessionFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (bytesRead === 0 || header.equals(SQLITE_HEADER)) return;
  } finally {
    await handle.close();
  }
  throw new Error(`the session database ${path} (SESSION_DB) is not an SQLite database: it was overwritten or is another file. `
    + 'Move it away (the sessions in it are lost: users log in again) or set SESSION_DB to another file, then start again.');
}

async function checkStaticDir(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`STATIC_DIR ${path} is not a folder; set it to the folder holding your page (index.html), or unset it for the demo page`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
