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

/** Copies `fields` into `into`, redacting secrets and renaming fields that would overwrite a line's own keys. */
function copyRedacted(fields: LogFields, into: LogFields): LogFields {
  for (const key of Object.keys(fields)) {
    into[RESERVED_FIELDS.has(key) ? `field_${key}` : key] = REDACTED_FIELDS.has(key) ? '[redacted]' : fields[key];
  }
  return into;
}

export function redactFields(fields: LogFields): LogFields {
  return copyRedacted(fields, {});
}

function formatLine(level: Level, event: string, fields: LogFields): string {
  return `${JSON.stringify(copyRedacted(fields, { time: new Date().toISOString(), level, event }))}\n`;
}

export interface JsonLogger extends Logger {
  /** Writes the info lines still waiting for the end of this event-loop turn. */
  flush(): void;
}

/**
 * One JSON object per line. The info lines of one event-loop turn leave in one write: under load a
 * request line per write was a system call per token. Warnings and errors are written at once,
 * after what is pending and in order, so a crash never loses the line that explains it; the entry
 * point flushes on exit. (process.stdout is synchronous for files and pipes on Linux.)
 */
export function createJsonLogger(write: (text: string) => void = (text) => { process.stdout.write(text); }): JsonLogger {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  return {
    info: (event, fields = {}) => {
      if (pending === '') setImmediate(flush);
      pending += formatLine('info', event, fields);
    },
    warn: (event, fields = {}) => {
      pending += formatLine('warn', event, fields);
      flush();
    },
    error: (event, fields = {}) => {
      pending += formatLine('error', event, fields);
      flush();
    },
    flush,
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
