import { evaluatePolicy } from './evaluate-policy.ts';
import type { CompiledPolicy, PolicyRefusal } from './policy-types.ts';

/** A rule that granted (part of) an entry, with the letters that rule gave it. */
export interface GrantingRule {
  readonly rule: string;
  readonly description: string | null;
  readonly letters?: string;
}

/**
 * Why a user's token holds what it holds, for people: the claims the policy reads and their
 * values for this user, each rule with whether its conditions hold, and every `per` and `dpv`
 * entry with the rules that granted it. Built from the same evaluation the token route runs.
 */
export interface PermissionsExplanation {
  readonly policy: { readonly version: number; readonly description: string | null };
  /** The user's claims that some condition or template reads, in the policy's order; absent ones are left out. */
  readonly claims: ReadonlyArray<{ readonly name: string; readonly value: unknown }>;
  readonly rules: ReadonlyArray<{
    readonly rule: string;
    readonly description: string | null;
    readonly applies: boolean;
    readonly conditions: ReadonlyArray<{ readonly description: string; readonly holds: boolean }>;
  }>;
  /** Sorted by realm, then pattern, as the token's `per`; letters are the union over the rules. */
  readonly per: ReadonlyArray<{ readonly realm: string; readonly pattern: string; readonly letters: string; readonly grantedBy: readonly GrantingRule[] }>;
  readonly dpv: ReadonlyArray<{ readonly realm: string; readonly id: string; readonly grantedBy: readonly GrantingRule[] }>;
  /** Grants left out because a claim they insert was unusable (reasons only, never the value). */
  readonly refused: readonly PolicyRefusal[];
}

/** Pure: the policy and the user's provider claims in, the explanation out. */
export function explainPermissions(policy: CompiledPolicy, claims: Readonly<Record<string, unknown>>): PermissionsExplanation {
  const evaluation = evaluatePolicy(policy, claims, { explain: true });
  const byEntry = new Map<string, GrantingRule[]>();
  for (const grant of evaluation.grants) {
    const key = `${grant.claim}\u0000${grant.realm}\u0000${grant.id}`;
    const rules = byEntry.get(key) ?? [];
    rules.push({ rule: grant.rule, description: grant.description, ...(grant.letters !== undefined ? { letters: grant.letters } : {}) });
    byEntry.set(key, rules);
  }
  const rulesFor = (claim: 'per' | 'dpv', realm: string, id: string) => byEntry.get(`${claim}\u0000${realm}\u0000${id}`) ?? [];

  return {
    policy: { version: policy.version, description: policy.description },
    claims: claimsRead(policy).filter((name) => Object.hasOwn(claims, name)).map((name) => ({ name, value: claims[name] })),
    rules: policy.rules.map((rule) => {
      const conditions = rule.conditions.map((condition) => ({ description: condition.description, holds: condition.matches(claims) }));
      return { rule: rule.label, description: rule.description, applies: conditions.every((condition) => condition.holds), conditions };
    }),
    per: Object.entries(evaluation.per).flatMap(([realm, patterns]) => Object.entries(patterns).map(([pattern, letters]) => ({
      realm, pattern, letters, grantedBy: rulesFor('per', realm, pattern),
    }))),
    dpv: Object.entries(evaluation.dpv).flatMap(([realm, ids]) => ids.map((id) => ({ realm, id, grantedBy: rulesFor('dpv', realm, id) }))),
    refused: evaluation.refused,
  };
}

function claimsRead(policy: CompiledPolicy): string[] {
  const names = new Set<string>();
  for (const rule of policy.rules) for (const condition of rule.conditions) for (const name of condition.claims) names.add(name);
  for (const name of policy.variableClaims) names.add(name);
  return [...names];
}
