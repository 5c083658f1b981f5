import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './start-product.ts';

const run = promisify(execFile);

// A separate process, as a backup job, the sqlite3 CLI or a second instance would be: the bug this
// guards against (a process dropping its own POSIX locks) is only visible from another process.
const SCRIPT = `
import sqlite3 from 'sqlite3';
const [path, sql, params] = process.argv.slice(1);
const db = new sqlite3.Database(path);
db.all(sql, JSON.parse(params), (error, rows) => {
  db.close(() => {
    if (error) { process.stderr.write(error.message); process.exit(1); }
    process.stdout.write(JSON.stringify(rows));
  });
});
`;

/** Runs one statement on the database file from another process and returns its rows. */
export async function queryFromOtherProcess<T = Record<string, unknown>>(path: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT, path, sql, JSON.stringify(params)], { cwd: PROJECT_ROOT });
  return JSON.parse(stdout) as T[];
}
