/**
 * Hivekit id patterns as sets of ids, for downscoping. An id or pattern is segments joined by
 * `/`; a `*` segment matches one whole segment, except that a `*` ending the pattern is read by
 * this project as "the rest of the id, one or more segments" (docs/POLICY.md). Our copy of
 * Hivekit's guide is cut where it defines that case, so a narrowed pattern must stay within its
 * grant under both readings: the subtree one we document and the one-segment one Hivekit might use.
 */

export type PatternReading = 'subtree' | 'segment';

const WILDCARD = '*';

function splitPattern(pattern: string): string[] {
  return pattern.split('/');
}

function endsInWildcard(segments: readonly string[], reading: PatternReading): boolean {
  return reading === 'subtree' && segments[segments.length - 1] === WILDCARD;
}

/** Is every id `inner` matches (under `reading`) also matched by `outer`? Exact, not a heuristic. */
export function isPatternWithin(inner: string, outer: string, reading: PatternReading): boolean {
  const a = splitPattern(inner);
  const b = splitPattern(outer);
  const outerOpen = endsInWildcard(b, reading);
  if (outerOpen ? a.length < b.length : a.length !== b.length || endsInWildcard(a, reading)) return false;
  const fixed = outerOpen ? b.length - 1 : b.length;
  for (let i = 0; i < fixed; i += 1) {
    if (b[i] !== WILDCARD && a[i] !== b[i]) return false;
  }
  return true;
}

/** Within `outer` whichever way Hivekit reads a final `*`. */
export function isPatternWithinEveryReading(inner: string, outer: string): boolean {
  return inner === outer || (isPatternWithin(inner, outer, 'subtree') && isPatternWithin(inner, outer, 'segment'));
}

/** Does `pattern` match the concrete `id` (an id has no `*`)? */
export function matchesId(pattern: string, id: string, reading: PatternReading): boolean {
  return isPatternWithin(id, pattern, reading);
}

/**
 * The ids both patterns match under the subtree reading, as one pattern (always expressible), or
 * null when there are none.
 */
export function intersectPatterns(first: string, second: string): string | null {
  const a = splitPattern(first);
  const b = splitPattern(second);
  const aOpen = endsInWildcard(a, 'subtree');
  const bOpen = endsInWildcard(b, 'subtree');
  // The longer (or the closed) one decides the depth; the open one's final `*` absorbs the rest.
  let [short, long] = a.length <= b.length ? [a, b] : [b, a];
  let shortOpen = a.length <= b.length ? aOpen : bOpen;
  const longOpen = a.length <= b.length ? bOpen : aOpen;
  if (short.length === long.length && !shortOpen && longOpen) {
    [short, long, shortOpen] = [long, short, true];
  }
  if (short.length !== long.length && !shortOpen) return null;
  const fixed = shortOpen ? short.length - 1 : short.length;
  const out: string[] = [];
  for (let i = 0; i < fixed; i += 1) {
    const x = short[i]!;
    const y = long[i]!;
    if (x === WILDCARD) out.push(y);
    else if (y === WILDCARD || x === y) out.push(x);
    else return null;
  }
  for (let i = fixed; i < long.length; i += 1) out.push(long[i]!);
  return out.join('/');
}

/**
 * The part of `requested` that `granted` covers, as a pattern that lies within `granted` under
 * every reading; null when there is none. A request deeper than a grant's final `*` is null: under
 * the one-segment reading that grant would not reach it.
 */
export function narrowPattern(requested: string, granted: string): string | null {
  const common = intersectPatterns(requested, granted);
  if (common === null) return null;
  return isPatternWithin(common, granted, 'segment') ? common : null;
}
