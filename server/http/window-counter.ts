export interface WindowCount {
  /** Requests counted for the key in its current window, this one included. */
  hits: number;
  /** Milliseconds since the epoch at which the key's window ends. */
  resetAt: number;
}

export interface WindowCounter {
  /** Counts one request for `key` and answers its count in the current window. */
  count(key: string): WindowCount;
  /** Takes back one request counted for `key` in its current window. */
  uncount(key: string): void;
  /** Forgets `key`: its next request starts a new window. */
  forget(key: string): void;
}

/**
 * Requests per key in fixed windows that start at a key's first request. Synchronous on purpose:
 * token requests whose session reads came back in one batch resume in one loop, and a count read
 * after an await (express-rate-limit's MemoryStore hands back its live counter object) shows every
 * one of them the batch's final count, refusing requests that were within the limit. Keys idle for
 * a whole window are forgotten when the windows turn over; no timer is needed.
 */
export function createWindowCounter(windowMs: number, now: () => number = Date.now): WindowCounter {
  let current = new Map<string, WindowCount>();
  let previous = new Map<string, WindowCount>();
  let turnedAt = now();
  const turnOver = (time: number) => {
    if (time - turnedAt >= windowMs) {
      previous = time - turnedAt >= 2 * windowMs ? new Map() : current;
      current = new Map();
      turnedAt = time;
    }
  };
  const count = (key: string): WindowCount => {
    const time = now();
    turnOver(time);
    let entry = current.get(key);
    if (!entry) {
      entry = previous.get(key) ?? { hits: 0, resetAt: time + windowMs };
      previous.delete(key);
      current.set(key, entry);
    }
    if (entry.resetAt <= time) {
      entry.hits = 0;
      entry.resetAt = time + windowMs;
    }
    entry.hits += 1;
    return { hits: entry.hits, resetAt: entry.resetAt };
  };
  const uncount = (key: string): void => {
    const time = now();
    turnOver(time);
    const entry = current.get(key) ?? previous.get(key);
    if (entry && entry.resetAt > time && entry.hits > 0) entry.hits -= 1;
  };
  const forget = (key: string): void => {
    current.delete(key);
    previous.delete(key);
  };
  return { count, uncount, forget };
}
