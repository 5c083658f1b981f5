import { LETTERS_BY_MASK } from './compile-grants.ts';
import { expandTemplate } from './expand-template.ts';
import type { ValueCache } from './expand-template.ts';
import type {
  CompiledPolicy, CompiledRule, DpvClaim, PerClaim, PolicyEvaluation, PolicyGrant, PolicyRefusal,
} from './policy-types.ts';

function ruleApplies(rule: CompiledRule, claims: Readonly<Record<string, unknown>>): boolean {
  for (const condition of rule.conditions) if (!condition.matches(claims)) return false;
  return true;
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

// Object.fromEntries defines own properties, so an id such as "__proto__" stays a key, never a prototype.
function toPerClaim(per: Map<string, Map<string, number>>): PerClaim {
  return Object.fromEntries([...per].sort(byKey).map(([realm, patterns]) => [
    realm,
    Object.fromEntries([...patterns].sort(byKey).map(([pattern, mask]) => [pattern, LETTERS_BY_MASK[mask]!])),
  ]));
}

function toDpvClaim(dpv: Map<string, Set<string>>): DpvClaim {
  return Object.fromEntries([...dpv].sort(byKey).map(([realm, ids]) => [realm, [...ids].sort()]));
}

/**
 * What a user with these provider claims may do: the `per` and `dpv` token claims, which rule granted
 * each entry, and which grants were dropped because a claim they insert was unusable. Letters from
 * several rules for one pattern are united; keys and dpv ids come out sorted, without duplicates.
 * Pure and synchronous: the policy was compiled at load, so this only matches and concatenates.
 */
export function evaluatePolicy(policy: CompiledPolicy, claims: Readonly<Record<string, unknown>>): PolicyEvaluation {
  const per = new Map<string, Map<string, number>>();
  const dpv = new Map<string, Set<string>>();
  const grants: PolicyGrant[] = [];
  const refused: PolicyRefusal[] = [];
  const cache: ValueCache = [];
  for (const rule of policy.rules) {
    if (!ruleApplies(rule, claims)) continue;
    for (const grant of rule.per) {
      const id = expandTemplate(grant.template, claims, policy.variableClaims, cache);
      if (typeof id !== 'string') {
        refused.push({ claim: 'per', rule: rule.label, realm: grant.realm, template: grant.template.source, reason: id.reason });
        continue;
      }
      let patterns = per.get(grant.realm);
      if (patterns === undefined) per.set(grant.realm, (patterns = new Map()));
      patterns.set(id, (patterns.get(id) ?? 0) | grant.mask);
      grants.push({
        claim: 'per', rule: rule.label, description: rule.description,
        realm: grant.realm, template: grant.template.source, id, letters: grant.letters,
      });
    }
    for (const grant of rule.dpv) {
      const id = expandTemplate(grant.template, claims, policy.variableClaims, cache);
      if (typeof id !== 'string') {
        refused.push({ claim: 'dpv', rule: rule.label, realm: grant.realm, template: grant.template.source, reason: id.reason });
        continue;
      }
      let ids = dpv.get(grant.realm);
      if (ids === undefined) dpv.set(grant.realm, (ids = new Set()));
      ids.add(id);
      grants.push({ claim: 'dpv', rule: rule.label, description: rule.description, realm: grant.realm, template: grant.template.source, id });
    }
  }
  return { per: toPerClaim(per), dpv: toDpvClaim(dpv), grants, refused };
}

/** UTF-8 bytes of `{"per":…,"dpv":…}` as JSON, for a token size cap in the signer (before base64url). */
export function measurePermissionClaims(per: PerClaim, dpv: DpvClaim): number {
  return Buffer.byteLength(JSON.stringify({ per, dpv }));
}
