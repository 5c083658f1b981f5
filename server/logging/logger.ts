export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

type Level = 'info' | 'warn' | 'error';

// Field names whose values must never reach a log line, whatever the caller passes.
const REDACTED_FIELDS = new Set([
  'token', 'code', 'cookie', 'secret', 'password', 'authorization', 'id_token', 'idToken',
  'access_token', 'accessToken', 'refresh_token', 'session_secret', 'client_secret', 'state',
]);

// A line's own keys: a field of the same name would overwrite them.
const RESERVED_FIELDS = new Set(['time', 'level', 'event']);

export function redactFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    const name = RESERVED_FIELDS.has(key) ? `field_${key}` : key;
    out[name] = REDACTED_FIELDS.has(key) ? '[redacted]' : value;
  }
  return out;
}

/** One JSON object per line, written synchronously so a crash never loses the line that explains it. */
export function createJsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const log = (level: Level, event: string, fields: LogFields = {}) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...redactFields(fields) })}\n`);
  };
  return {
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
  };
}

/** For tests: keeps every entry so a test can assert what was (and was not) logged. */
export function createMemoryLogger(): Logger & { entries: Array<{ level: Level; event: string; fields: LogFields }> } {
  const entries: Array<{ level: Level; event: string; fields: LogFields }> = [];
  const log = (level: Level) => (event: string, fields: LogFields = {}) => {
    entries.push({ level, event, fields: redactFields(fields) });
  };
  return { entries, info: log('info'), warn: log('warn'), error: log('error') };
}
