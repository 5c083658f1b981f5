import { describeType, isPlainObject } from './check-shape.ts';
import type { JsonPath, Report } from './check-shape.ts';
import { compileTemplate } from './compile-template.ts';
import type { CompiledDpvGrant, CompiledPerGrant } from './policy-types.ts';

/** Realm ids are literals chosen by the policy author; claim values never become realm ids. */
const REALM_ID = /^[A-Za-z0-9._~-]{1,128}$/;
const LETTER_BITS: Readonly<Record<string, number>> = { C: 1, R: 2, U: 4, D: 8 };

/** Letters for each bit set over C=1 R=2 U=4 D=8, always in the order C R U D. */
export const LETTERS_BY_MASK: readonly string[] = Object.freeze(
  Array.from({ length: 16 }, (_, mask) => 'CRUD'.split('').filter((_letter, bit) => (mask & (1 << bit)) !== 0).join('')),
);

interface GrantContext {
  readonly report: Report;
  readonly indexOfClaim: (claim: string) => number;
}

function checkRealm(realm: string, allowWildcard: boolean, path: JsonPath, report: Report): boolean {
  if (realm === '*') {
    if (allowWildcard) return true;
    report(path, "dpv names concrete objects, so the realm must be a realm id, not '*'");
    return false;
  }
  if (REALM_ID.test(realm) && realm !== '.' && realm !== '..') return true;
  report(path, `is not a realm id: use 1-128 of A-Z a-z 0-9 - . _ ~${allowWildcard ? " or '*' for every realm" : ''}`);
  return false;
}

function parseLetters(value: unknown, path: JsonPath, report: Report): number | null {
  let mask = 0;
  if (typeof value === 'string' && value.length > 0) {
    for (const letter of value) {
      const bit = LETTER_BITS[letter];
      if (bit === undefined || (mask & bit) !== 0) {
        mask = -1;
        break;
      }
      mask |= bit;
    }
    if (mask > 0) return mask;
  }
  report(path, `must be letters from C R U D, each at most once, such as "CRU" (got ${JSON.stringify(value) ?? describeType(value)})`);
  return null;
}

/** `grants`: realm id or `*` → id pattern → letters. */
export function compileGrants(raw: unknown, path: JsonPath, context: GrantContext): CompiledPerGrant[] {
  if (raw === undefined) return [];
  if (!isPlainObject(raw)) {
    context.report(path, `must be an object of realm id → { id pattern: letters }, not ${describeType(raw)}`);
    return [];
  }
  const grants: CompiledPerGrant[] = [];
  for (const [realm, patterns] of Object.entries(raw)) {
    const realmOk = checkRealm(realm, true, [...path, realm], context.report);
    if (!isPlainObject(patterns)) {
      context.report([...path, realm], `must be an object of id pattern → letters, not ${describeType(patterns)}`);
      continue;
    }
    for (const [pattern, letters] of Object.entries(patterns)) {
      const at = [...path, realm, pattern];
      const compiled = compileTemplate(pattern, 'pattern', context.indexOfClaim);
      if (!compiled.ok) for (const error of compiled.errors) context.report(at, `pattern ${error}`);
      const mask = parseLetters(letters, at, context.report);
      if (realmOk && compiled.ok && mask !== null) {
        grants.push(Object.freeze({ realm, template: compiled.template, mask, letters: LETTERS_BY_MASK[mask]! }));
      }
    }
  }
  return grants;
}

/** `dpv`: realm id → array of object ids (templates allowed, `*` not). */
export function compileDpv(raw: unknown, path: JsonPath, context: GrantContext): CompiledDpvGrant[] {
  if (raw === undefined) return [];
  if (!isPlainObject(raw)) {
    context.report(path, `must be an object of realm id → [object ids], not ${describeType(raw)}`);
    return [];
  }
  const grants: CompiledDpvGrant[] = [];
  for (const [realm, ids] of Object.entries(raw)) {
    const realmOk = checkRealm(realm, false, [...path, realm], context.report);
    if (!Array.isArray(ids)) {
      context.report([...path, realm], `must be an array of object ids, not ${describeType(ids)}`);
      continue;
    }
    ids.forEach((id: unknown, index: number) => {
      const at = [...path, realm, index];
      if (typeof id !== 'string') {
        context.report(at, `must be an object id string, not ${describeType(id)}`);
        return;
      }
      const compiled = compileTemplate(id, 'id', context.indexOfClaim);
      if (!compiled.ok) for (const error of compiled.errors) context.report(at, `id ${error}`);
      else if (realmOk) grants.push(Object.freeze({ realm, template: compiled.template }));
    });
  }
  return grants;
}
