import { LETTERS_BY_MASK } from './compile-grants.ts';
import { expandTemplate } from './expand-template.ts';
import type { ValueCache } from './expand-template.ts';
import type {
  CompiledDpvGrant, CompiledPolicy, CompiledRule, DpvClaim, PerClaim, PolicyEvaluation, PolicyGrant, PolicyRefusal,
} from './policy-types.ts';

function ruleApplies(rule: CompiledRule, claims: Readonly<Record<string, unknown>>): boolean {
  for (const condition of rule.conditions) if (!condition.matches(claims)) return false;
  return true;
}

// A plain assignment of "__proto__" would set the prototype instead of adding the key an id produced.
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

// Keys come out in code-unit order so equal inputs give byte-identical tokens.
export function toPerClaim(per: Map<string, Map<string, number>>): PerClaim {
  const out: PerClaim = {};
  for (const realm of [...per.keys()].sort()) {
    const patterns = per.get(realm)!;
    const letters: Record<string, string> = {};
    for (const pattern of [...patterns.keys()].sort()) setOwn(letters, pattern, LETTERS_BY_MASK[patterns.get(pattern)!]!);
    setOwn(out, realm, letters);
  }
  return out;
}

function toDpvClaim(dpv: Map<string, Set<string>>): DpvClaim {
  const out: DpvClaim = {};
  for (const realm of [...dpv.keys()].sort()) setOwn(out, realm, [...dpv.get(realm)!].sort());
  return out;
}

/**
 * What a user with these provider claims may do: the `per` and `dpv` token claims, which rule granted
 * each entry, and which grants were dropped because a claim they insert was unusable. Letters from
 * several rules for one pattern are united; keys and dpv ids come out sorted, without duplicates.
 * Pure and synchronous: the policy was compiled at load, so this only matches and concatenates.
 */
export function evaluatePolicy(
  policy: CompiledPolicy,
  claims: Readonly<Record<string, unknown>>,
  // `grants` explains each entry for the explain command; the token route has no use for it.
  options: { explain?: boolean } = {},
): PolicyEvaluation {
  const explain = options.explain ?? true;
  const per = new Map<string, Map<string, number>>();
  const dpv = new Map<string, Set<string>>();
  const grants: PolicyGrant[] = [];
  const refused: PolicyRefusal[] = [];
  const cache: ValueCache = [];
  // A grant's id with the user's claims inserted (per grants have the same realm and template), or
  // undefined with the reason recorded.
  const expand = (claim: PolicyRefusal['claim'], rule: CompiledRule, grant: CompiledDpvGrant): string | undefined => {
    const id = expandTemplate(grant.template, claims, policy.variableClaims, cache);
    if (typeof id === 'string') return id;
    refused.push({ claim, rule: rule.label, realm: grant.realm, template: grant.template.source, reason: id.reason });
    return undefined;
  };
  for (const rule of policy.rules) {
    if (!ruleApplies(rule, claims)) continue;
    for (const grant of rule.per) {
      const id = expand('per', rule, grant);
      if (id === undefined) continue;
      let patterns = per.get(grant.realm);
      if (patterns === undefined) per.set(grant.realm, (patterns = new Map()));
      patterns.set(id, (patterns.get(id) ?? 0) | grant.mask);
      if (explain) grants.push({
        claim: 'per', rule: rule.label, description: rule.description,
        realm: grant.realm, template: grant.template.source, id, letters: grant.letters,
      });
    }
    for (const grant of rule.dpv) {
      const id = expand('dpv', rule, grant);
      if (id === undefined) continue;
      let ids = dpv.get(grant.realm);
      if (ids === undefined) dpv.set(grant.realm, (ids = new Set()));
      ids.add(id);
      if (explain) grants.push({
        claim: 'dpv', rule: rule.label, description: rule.description, realm: grant.realm, template: grant.template.source, id,
      });
    }
  }
  return { per: toPerClaim(per), dpv: toDpvClaim(dpv), grants, refused };
}

/** UTF-8 bytes of `{"per":…,"dpv":…}` as JSON, for a token size cap in the signer (before base64url). */
export function measurePermissionClaims(per: PerClaim, dpv: DpvClaim): number {
  return Buffer.byteLength(JSON.stringify({ per, dpv }));
}
