import { isPlainObject } from '../policy/check-shape.ts';
import { compileTemplate } from '../policy/compile-template.ts';
import type { PerClaim } from '../policy/policy-types.ts';

/** A caller's request for less than the policy grants (issue 15); the policy is always the ceiling. */
export interface ScopeRequest {
  /** Only these realms (a `*` grant is narrowed to each); null: every realm. */
  readonly realms: readonly string[] | null;
  /** Only these entries, intersected with the grants; null: everything the grants allow. */
  readonly per: PerClaim | null;
  /** Refuse instead of dropping what is not fully granted. */
  readonly strict: boolean;
}

export type ScopeRequestParse = { readonly ok: true; readonly request: ScopeRequest } | { readonly ok: false; readonly message: string };

// Bounds on hostile input: a request is read on the token route, before anything is cached.
export const MAX_REQUESTED_REALMS = 32;
export const MAX_REQUESTED_ENTRIES = 64;
const MAX_PER_PARAMETER_LENGTH = 8192;
const REALM_ID = /^[A-Za-z0-9._~-]{1,128}$/;
const LETTERS = /^(?!.*(.).*\1)[CRUD]{1,4}$/;
const PARAMETERS = new Set(['realm', 'per', 'strict']);

function isRealmId(value: string, allowWildcard: boolean): boolean {
  if (value === '*') return allowWildcard;
  return REALM_ID.test(value) && value !== '.' && value !== '..';
}

/** The policy's pattern grammar, without templates: a request names ids, it never inserts claims. */
function patternProblem(pattern: string): string | null {
  let insertsClaim = false;
  const compiled = compileTemplate(pattern, 'pattern', () => {
    insertsClaim = true;
    return 0;
  });
  if (!compiled.ok) return compiled.errors[0]!;
  if (insertsClaim || compiled.template.staticValue !== pattern) return 'may not contain { or }';
  return null;
}

function parsePer(text: string): PerClaim | string {
  if (text.length > MAX_PER_PARAMETER_LENGTH) return `per is longer than ${MAX_PER_PARAMETER_LENGTH} characters`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'per is not JSON';
  }
  if (!isPlainObject(raw)) return 'per must be a JSON object of realm id → { id pattern: letters }';
  const per: PerClaim = Object.create(null) as PerClaim;
  let entries = 0;
  for (const [realm, patterns] of Object.entries(raw)) {
    if (!isRealmId(realm, true)) return `per: ${JSON.stringify(realm.slice(0, 140))} is not a realm id or *`;
    if (!isPlainObject(patterns)) return `per.${realm} must be an object of id pattern → letters`;
    const target: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [pattern, letters] of Object.entries(patterns)) {
      entries += 1;
      if (entries > MAX_REQUESTED_ENTRIES) return `per asks for more than ${MAX_REQUESTED_ENTRIES} entries`;
      const problem = patternProblem(pattern);
      if (problem !== null) return `per.${realm}: pattern ${JSON.stringify(pattern.slice(0, 140))} ${problem}`;
      if (typeof letters !== 'string' || !LETTERS.test(letters)) return `per.${realm}: letters must be from C R U D, each at most once`;
      target[pattern] = letters;
    }
    per[realm] = target;
  }
  return per;
}

/**
 * Reads `realm` (repeatable), `per` (JSON) and `strict` from URL-encoded parameters. Returns null
 * when none is present. Unknown parameters are refused: a misspelt `realms=` must not silently mint
 * the full token.
 */
export function parseScopeRequest(params: URLSearchParams): ScopeRequestParse | null {
  let present = false;
  for (const name of params.keys()) {
    if (!PARAMETERS.has(name)) return { ok: false, message: `Unknown parameter ${JSON.stringify(name.slice(0, 40))}; use realm, per or strict.` };
    present = true;
  }
  if (!present) return null;
  const realmValues = params.getAll('realm');
  if (realmValues.length > MAX_REQUESTED_REALMS) return { ok: false, message: `At most ${MAX_REQUESTED_REALMS} realm parameters.` };
  for (const realm of realmValues) {
    if (!isRealmId(realm, false)) return { ok: false, message: `realm ${JSON.stringify(realm.slice(0, 140))} is not a realm id.` };
  }
  const perValues = params.getAll('per');
  if (perValues.length > 1) return { ok: false, message: 'per may be given once.' };
  const strictValues = params.getAll('strict');
  if (strictValues.length > 1 || (strictValues.length === 1 && strictValues[0] !== 'true' && strictValues[0] !== 'false')) {
    return { ok: false, message: 'strict must be true or false, given once.' };
  }
  let per: PerClaim | null = null;
  if (perValues.length === 1) {
    const parsed = parsePer(perValues[0]!);
    if (typeof parsed === 'string') return { ok: false, message: `${parsed}.` };
    per = parsed;
  }
  const realms = realmValues.length > 0 ? [...new Set(realmValues)].sort() : null;
  return { ok: true, request: { realms, per, strict: strictValues[0] === 'true' } };
}
