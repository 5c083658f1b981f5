/** One finding about a policy file, located by a JSON path such as `rules[2].grants.london["riders/{sub}"]`. */
export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

/** Hivekit's `per` claim: realm id (or `*`) → id pattern → letters in the order C R U D. */
export type PerClaim = Record<string, Record<string, string>>;

/** Hivekit's `dpv` claim: realm id → ids of the objects this client is canonical data provider for. */
export type DpvClaim = Record<string, string[]>;

/** A part of a template segment: literal text, or the index of a claim in `CompiledPolicy.variableClaims`. */
export type TemplatePart = string | number;

export interface CompiledTemplate {
  readonly source: string;
  /** The expanded text when the template names no variable, so evaluation does no work for it. */
  readonly staticValue: string | null;
  /** One entry per `/`-separated segment: literal text, or parts to join. */
  readonly segments: ReadonlyArray<string | readonly TemplatePart[]>;
}

export type ClaimMatcher = (claims: Readonly<Record<string, unknown>>) => boolean;

export interface CompiledCondition {
  readonly description: string;
  /** The claims it reads, for showing a user why a rule applies or not. */
  readonly claims: readonly string[];
  readonly matches: ClaimMatcher;
}

export interface CompiledPerGrant {
  readonly realm: string;
  readonly template: CompiledTemplate;
  /** Bit set over C=1 R=2 U=4 D=8. */
  readonly mask: number;
  readonly letters: string;
}

export interface CompiledDpvGrant {
  readonly realm: string;
  readonly template: CompiledTemplate;
}

export interface CompiledRule {
  /** Where the rule sits in the file: `everyone` or `rules[3]`. */
  readonly label: string;
  readonly description: string | null;
  /** All must hold; empty for `everyone`. */
  readonly conditions: readonly CompiledCondition[];
  readonly per: readonly CompiledPerGrant[];
  readonly dpv: readonly CompiledDpvGrant[];
}

export interface CompiledPolicy {
  /** 1 for the first load, incremented by the holder on each successful reload. */
  readonly version: number;
  readonly description: string | null;
  readonly rules: readonly CompiledRule[];
  /** Claim names that templates read, indexed by `TemplatePart` numbers. */
  readonly variableClaims: readonly string[];
}

/** One entry of `per` or `dpv` and the rule it came from, for the explain command and logs. */
export interface PolicyGrant {
  readonly claim: 'per' | 'dpv';
  readonly rule: string;
  readonly description: string | null;
  readonly realm: string;
  readonly template: string;
  readonly id: string;
  /** The letters this rule granted (other rules may add more); absent for `dpv`. */
  readonly letters?: string;
}

/** A grant dropped because a claim it inserts was unusable; the claim's value is deliberately not included. */
export interface PolicyRefusal {
  readonly claim: 'per' | 'dpv';
  readonly rule: string;
  readonly realm: string;
  readonly template: string;
  readonly reason: string;
}

export interface PolicyEvaluation {
  readonly per: PerClaim;
  readonly dpv: DpvClaim;
  /** Empty unless evaluated with `explain` (the default). */
  readonly grants: PolicyGrant[];
  readonly refused: PolicyRefusal[];
}
