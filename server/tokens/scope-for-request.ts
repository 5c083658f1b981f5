import { AppError } from '../errors/app-error.ts';
import type { DpvClaim, PerClaim } from '../policy/policy-types.ts';
import { downscopePermissions, type DownscopedPermissions } from './downscope-permissions.ts';
import { parseScopeRequest } from './scope-request.ts';

export interface Granted {
  readonly per: PerClaim;
  readonly dpv: DpvClaim;
}

/** What to mint: the grants themselves (no request), or their narrowed copy and what was dropped. */
export type RequestedScope =
  | { readonly kind: 'full'; readonly per: PerClaim; readonly dpv: DpvClaim }
  | { readonly kind: 'narrowed'; readonly per: PerClaim; readonly dpv: DpvClaim; readonly dropped: DownscopedPermissions['dropped'] }
  | { readonly kind: 'refused'; readonly dropped: DownscopedPermissions['dropped'] };

// A page asks for a handful of shapes; past this a session's answers are recomputed, not kept.
const MAX_SHAPES_PER_GRANT = 16;

/**
 * Resolves the downscoping request in a query string (or form body) against a grant. Answers are
 * remembered per grant object and request text: the policy resolver hands out one frozen grant
 * per session and policy version, so a page's repeated request costs a map lookup, and a new
 * policy version (a new object) starts afresh.
 */
export function createScopeResolver() {
  const remembered = new WeakMap<object, Map<string, RequestedScope>>();
  return function scopeFor(granted: Granted, query: string): RequestedScope {
    if (query === '') return { kind: 'full', per: granted.per, dpv: granted.dpv };
    let shapes = remembered.get(granted);
    const hit = shapes?.get(query);
    if (hit !== undefined) return hit;
    const answer = resolve(granted, new URLSearchParams(query));
    if (Object.isFrozen(granted)) {
      if (shapes === undefined) remembered.set(granted, (shapes = new Map()));
      if (shapes.size >= MAX_SHAPES_PER_GRANT) shapes.delete(shapes.keys().next().value!);
      shapes.set(query, answer);
    }
    return answer;
  };
}

export type ScopeResolver = ReturnType<typeof createScopeResolver>;

export function resolve(granted: Granted, params: URLSearchParams): RequestedScope {
  const parsed = parseScopeRequest(params);
  if (parsed === null) return { kind: 'full', per: granted.per, dpv: granted.dpv };
  if (!parsed.ok) throw new AppError('bad_request', { message: parsed.message });
  const narrowed = downscopePermissions(granted, parsed.request);
  if (parsed.request.strict && narrowed.dropped.length > 0) return deepFreeze({ kind: 'refused', dropped: narrowed.dropped });
  return deepFreeze({ kind: 'narrowed', ...narrowed });
}

/** The query string of a request URL without the `?`, or '' when there is none. */
export function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? '' : url.slice(at + 1);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
