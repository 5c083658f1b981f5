import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger whose every line also carries `bindings` (a request's id). */
  child(bindings: LogFields): Logger;
}

export interface JsonLogger extends Logger {
  /** Writes what is still buffered, synchronously (the entry point calls it on exit). */
  flush(): void;
}

export const LOG_LEVELS = ['info', 'warn', 'error', 'silent'] as const;
export type LogLevel = typeof LOG_LEVELS[number];
type Level = 'info' | 'warn' | 'error';

// Field names whose values must never reach a log line, at the top of a line or one level down.
const SECRET_FIELDS = [
  'token', 'cookie', 'secret', 'password', 'authorization', 'id_token', 'idToken', 'access_token', 'accessToken',
  'refresh_token', 'refreshToken', 'subject_token', 'session_secret', 'client_secret', 'clientSecret',
  'client_assertion', 'code_verifier', 'state',
];
// An OAuth authorization code is a `code` inside request parameters; elsewhere `code` is one of our
// error codes (provider_unavailable …), which operators need to read.
const OAUTH_PARAMETER_CONTAINERS = new Set(['query', 'params', 'body', 'callbackParams']);
const SECRET_FIELD_SET = new Set(SECRET_FIELDS);
const CENSOR = '[redacted]';

// A line's own keys: a field of the same name would overwrite them.
const RESERVED_FIELDS = new Set(['time', 'level', 'event', 'msg']);

/**
 * Redaction by hand rather than pino's `redact` paths: the same rule (those names at the top of a
 * line or one level down, `code` inside request parameters), but pino's wildcard paths cost about
 * 35 µs per line, a tenth of the token route's CPU (docs/BENCHMARKS.md, section 8).
 */
function lineObject(event: string, fields: LogFields | undefined): LogFields {
  const line: LogFields = { event };
  if (fields) {
    for (const key of Object.keys(fields)) {
      line[RESERVED_FIELDS.has(key) ? `field_${key}` : key] = SECRET_FIELD_SET.has(key) ? CENSOR : redactInside(key, fields[key]);
    }
  }
  return line;
}

function redactInside(container: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const oauthParameters = OAUTH_PARAMETER_CONTAINERS.has(container);
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    if (SECRET_FIELD_SET.has(key) || (oauthParameters && key === 'code')) (copy ??= { ...(value as Record<string, unknown>) })[key] = CENSOR;
  }
  return copy ?? value;
}

function wrap(target: PinoLogger): Logger {
  return {
    info: (event, fields) => { target.info(lineObject(event, fields)); },
    warn: (event, fields) => { target.warn(lineObject(event, fields)); },
    error: (event, fields) => { target.error(lineObject(event, fields)); },
    child: (bindings) => wrap(target.child(bindings)),
  };
}

/** pino's isoTime, formatted once per millisecond: under load a dozen lines share each one. */
export function isoTimeOncePerMillisecond(clock: () => number = Date.now): () => string {
  let formattedAt = Number.NaN;
  let formatted = '';
  return () => {
    const now = clock();
    if (now !== formattedAt) {
      formattedAt = now;
      formatted = `,"time":"${new Date(now).toISOString()}"`;
    }
    return formatted;
  };
}

function createPino(level: LogLevel, destination: DestinationStream): PinoLogger {
  return pino({
    level,
    base: undefined,
    timestamp: isoTimeOncePerMillisecond(),
    formatters: { level: (label) => ({ level: label }) },
  }, destination);
}

/**
 * One JSON object per line (pino): `{"level","time",<bindings>,"event",…fields}`. To stdout by
 * default, written asynchronously so that lines logged while a write is under way leave together
 * (under load a request line per write was a system call per token); pino writes what is pending
 * synchronously when the process exits.
 */
export function createJsonLogger(options: { level?: LogLevel; write?: (text: string) => void } = {}): JsonLogger {
  const destination = options.write
    ? { write: options.write }
    : pino.destination({ dest: 1, sync: false });
  const target = createPino(options.level ?? 'info', destination);
  return {
    ...wrap(target),
    flush: () => {
      if ('flushSync' in destination) {
        try { destination.flushSync(); } catch { /* not ready yet, or stdout closed: nothing to save */ }
      }
    },
  };
}

export interface MemoryLogEntry {
  level: Level;
  event: string;
  /** The line's fields as written (redacted), bindings included; without time, level and event. */
  fields: LogFields;
}

/**
 * For tests: the production logger (same redaction, same line shape) writing into `entries`, so a
 * test can assert what was (and was not) logged.
 */
export function createMemoryLogger(): Logger & { entries: MemoryLogEntry[] } {
  const entries: MemoryLogEntry[] = [];
  const target = createPino('info', {
    write: (text: string) => {
      const { level, event, time: _time, ...fields } = JSON.parse(text) as LogFields;
      entries.push({ level: level as Level, event: event as string, fields });
    },
  });
  return { entries, ...wrap(target) };
}
