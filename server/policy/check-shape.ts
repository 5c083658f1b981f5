export type JsonPath = ReadonlyArray<string | number>;
export type Report = (path: JsonPath, message: string) => void;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Reports every key not in `allowed`, naming the allowed ones, so a typo like `grant` is never ignored.
 * Keys in `reportedElsewhere` get a more specific message from the caller.
 */
export function checkKeys(
  object: Record<string, unknown>, allowed: readonly string[], path: JsonPath, report: Report, reportedElsewhere: readonly string[] = [],
): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key) && !reportedElsewhere.includes(key)) {
      report([...path, key], `unknown key; expected one of ${allowed.join(', ')}`);
    }
  }
}

/** Reads an optional `description`, reporting it when it is not a string. */
export function readDescription(object: Record<string, unknown>, path: JsonPath, report: Report): string | null {
  const value = object['description'];
  if (value === undefined) return null;
  if (typeof value === 'string') return value;
  report([...path, 'description'], `must be a string, not ${describeType(value)}`);
  return null;
}
