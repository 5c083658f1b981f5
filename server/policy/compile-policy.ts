import { checkKeys, describeType, isPlainObject, readDescription } from './check-shape.ts';
import type { JsonPath, Report } from './check-shape.ts';
import { compileCondition } from './compile-condition.ts';
import { compileGrants, compileDpv } from './compile-grants.ts';
import { formatJsonPath } from './format-json-path.ts';
import type { CompiledCondition, CompiledPolicy, CompiledRule, PolicyProblem } from './policy-types.ts';

const POLICY_KEYS = ['description', 'everyone', 'rules'];
const EVERYONE_KEYS = ['description', 'grants', 'dpv'];
const RULE_KEYS = ['description', 'when', 'grants', 'dpv'];

export type PolicyCompilation =
  | { readonly ok: true; readonly policy: CompiledPolicy; readonly warnings: PolicyProblem[] }
  | { readonly ok: false; readonly problems: PolicyProblem[]; readonly warnings: PolicyProblem[] };

export interface PolicyValidation {
  readonly problems: PolicyProblem[];
  readonly warnings: PolicyProblem[];
}

interface Context {
  readonly report: Report;
  readonly warn: Report;
  readonly indexOfClaim: (claim: string) => number;
  readonly problemCount: () => number;
}

function compileWhen(raw: unknown, path: JsonPath, report: Report): CompiledCondition[] {
  if (raw === undefined) {
    report(path, "is required: a rule without conditions would apply to everyone (put such grants in 'everyone')");
    return [];
  }
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) report(path, 'must list at least one condition');
  const conditions: CompiledCondition[] = [];
  list.forEach((item, index) => {
    const condition = compileCondition(item, Array.isArray(raw) ? [...path, index] : path, report);
    if (condition !== null) conditions.push(condition);
  });
  return conditions;
}

function compileRule(raw: unknown, label: string, path: JsonPath, context: Context): CompiledRule | null {
  if (!isPlainObject(raw)) {
    context.report(path, `must be an object, not ${describeType(raw)}`);
    return null;
  }
  const isEveryone = label === 'everyone';
  const problemsBefore = context.problemCount();
  checkKeys(raw, isEveryone ? EVERYONE_KEYS : RULE_KEYS, path, context.report, isEveryone ? ['when'] : []);
  if (isEveryone && raw['when'] !== undefined) {
    context.report([...path, 'when'], "'everyone' applies to every signed-in user; put conditional grants in 'rules'");
  }
  const rule: CompiledRule = {
    label,
    description: readDescription(raw, path, context.report),
    conditions: isEveryone ? [] : Object.freeze(compileWhen(raw['when'], [...path, 'when'], context.report)),
    per: Object.freeze(compileGrants(raw['grants'], [...path, 'grants'], context)),
    dpv: Object.freeze(compileDpv(raw['dpv'], [...path, 'dpv'], context)),
  };
  // Grants dropped for a problem would make "grants nothing" a misleading echo of that problem.
  const clean = context.problemCount() === problemsBefore;
  if (clean && rule.per.length === 0 && rule.dpv.length === 0) context.warn(path, 'grants nothing');
  if (isEveryone && rule.per.some((grant) => grant.realm === '*' && grant.template.source === '*')) {
    context.warn([...path, 'grants', '*', '*'], 'gives every signed-in user access to every object in every realm');
  }
  return Object.freeze(rule);
}

/**
 * Validates parsed policy JSON and compiles it for `evaluatePolicy`, reporting every problem at once,
 * each located by a JSON path. Pure: no I/O, no clock. Warnings never block loading.
 */
export function compilePolicy(raw: unknown, options: { readonly version?: number } = {}): PolicyCompilation {
  const problems: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  const variableClaims: string[] = [];
  const context: Context = {
    report: (path, message) => problems.push({ path: formatJsonPath(path), message }),
    warn: (path, message) => warnings.push({ path: formatJsonPath(path), message }),
    indexOfClaim: (claim) => {
      const index = variableClaims.indexOf(claim);
      return index === -1 ? variableClaims.push(claim) - 1 : index;
    },
    problemCount: () => problems.length,
  };
  if (!isPlainObject(raw)) {
    context.report([], `a policy must be a JSON object, not ${describeType(raw)}`);
    return { ok: false, problems, warnings };
  }
  checkKeys(raw, POLICY_KEYS, [], context.report);
  const description = readDescription(raw, [], context.report);
  const rules: CompiledRule[] = [];
  if (raw['everyone'] !== undefined) {
    const everyone = compileRule(raw['everyone'], 'everyone', ['everyone'], context);
    if (everyone !== null) rules.push(everyone);
  }
  const rawRules = raw['rules'];
  if (rawRules !== undefined && !Array.isArray(rawRules)) {
    context.report(['rules'], `must be an array of rules, not ${describeType(rawRules)}`);
  } else if (rawRules !== undefined) {
    rawRules.forEach((item: unknown, index: number) => {
      const rule = compileRule(item, `rules[${index}]`, ['rules', index], context);
      if (rule !== null) rules.push(rule);
    });
  }
  if (problems.length === 0 && rules.every((rule) => rule.per.length === 0 && rule.dpv.length === 0)) {
    context.warn([], 'this policy grants nothing to anyone: every token will carry an empty per and dpv');
  }
  if (problems.length > 0) return { ok: false, problems, warnings };
  const policy: CompiledPolicy = {
    version: options.version ?? 1,
    description,
    rules: Object.freeze(rules),
    variableClaims: Object.freeze(variableClaims),
  };
  return { ok: true, policy: Object.freeze(policy), warnings };
}

/** Every problem and warning in parsed policy JSON, for `npm run policy -- check`. */
export function validatePolicy(raw: unknown): PolicyValidation {
  const result = compilePolicy(raw);
  return { problems: result.ok ? [] : result.problems, warnings: result.warnings };
}
