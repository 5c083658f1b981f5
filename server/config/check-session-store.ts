export type SessionStoreKind = 'sqlite' | 'redis';

export interface SessionStoreSettings {
  readonly kind: SessionStoreKind;
  /** Set when kind is redis; carries credentials, so it is never logged. */
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
}

const MAX_PREFIX_LENGTH = 100;

/** SESSION_STORE, REDIS_URL and REDIS_KEY_PREFIX, each problem named (never with the URL's password). */
export function checkSessionStore(raw: Readonly<Record<string, string | undefined>>, problems: string[]): SessionStoreSettings {
  const kind = raw.SESSION_STORE ?? 'sqlite';
  const redisKeyPrefix = raw.REDIS_KEY_PREFIX ?? 'hivekit-bff:';
  if (kind !== 'sqlite' && kind !== 'redis') {
    problems.push(`SESSION_STORE: got ${JSON.stringify(kind)}; expected "sqlite" or "redis"`);
    return { kind: 'sqlite', redisUrl: undefined, redisKeyPrefix };
  }
  if (redisKeyPrefix.length === 0 || redisKeyPrefix.length > MAX_PREFIX_LENGTH || /[^\x21-\x7e]/.test(redisKeyPrefix)) {
    problems.push(`REDIS_KEY_PREFIX: expected 1..${MAX_PREFIX_LENGTH} printable ASCII characters without spaces`);
  }
  if (kind === 'sqlite') return { kind, redisUrl: undefined, redisKeyPrefix };
  const redisUrl = raw.REDIS_URL;
  if (!redisUrl) {
    problems.push('REDIS_URL: missing; expected redis://[user:password@]host[:port][/db] or rediss://… (required when SESSION_STORE=redis)');
    return { kind, redisUrl: undefined, redisKeyPrefix };
  }
  let url: URL | undefined;
  try {
    url = new URL(redisUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || !url.hostname) {
    problems.push('REDIS_URL: not a redis:// or rediss:// URL with a host');
  } else if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname)) {
    problems.push('REDIS_URL: the path must be a database number, like /0');
  }
  return { kind, redisUrl, redisKeyPrefix };
}
