import { checkKeys, describeType, isPlainObject } from './check-shape.ts';
import type { JsonPath, Report } from './check-shape.ts';
import type { ClaimMatcher, CompiledCondition } from './policy-types.ts';

const CLAIM_KEYS = ['claim', 'includes', 'equals'];
const EMAIL_KEYS = ['emailDomain', 'allowMissingEmailVerified'];
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
// Only ASCII is lower-cased: Unicode folding maps e.g. the Kelvin sign U+212A to "k", which could fake a domain.
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

function ownClaim(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}

function includesMatcher(claim: string, value: string): ClaimMatcher {
  return (claims) => {
    const list = ownClaim(claims, claim);
    return Array.isArray(list) && list.includes(value);
  };
}

function equalsMatcher(claim: string, value: string): ClaimMatcher {
  return (claims) => ownClaim(claims, claim) === value;
}

function emailDomainMatcher(domain: string, allowMissingVerified: boolean): ClaimMatcher {
  return (claims) => {
    const verified = ownClaim(claims, 'email_verified');
    if (verified !== true && !(allowMissingVerified && verified === undefined)) return false;
    const email = ownClaim(claims, 'email');
    if (typeof email !== 'string') return false;
    // RFC 5321 §4.1.2: the domain follows the last '@' (a quoted local part may itself contain '@').
    const at = email.lastIndexOf('@');
    if (at <= 0 || email.length - at - 1 !== domain.length) return false;
    const emailDomain = email.slice(at + 1);
    return PRINTABLE_ASCII.test(emailDomain) && emailDomain.toLowerCase() === domain;
  };
}

function compileClaimCondition(raw: Record<string, unknown>, path: JsonPath, report: Report): CompiledCondition | null {
  checkKeys(raw, CLAIM_KEYS, path, report);
  const { claim, includes, equals } = raw;
  let ok = true;
  if (typeof claim !== 'string' || claim.length === 0) {
    report([...path, 'claim'], `must be a non-empty claim name, not ${describeType(claim)}`);
    ok = false;
  }
  if ((includes === undefined) === (equals === undefined)) {
    report(path, "needs exactly one of 'includes' (an array claim holds the value) or 'equals' (a string claim is the value)");
    return null;
  }
  const operator = includes !== undefined ? 'includes' : 'equals';
  const value = raw[operator];
  if (typeof value !== 'string' || value.length === 0) {
    report([...path, operator], `must be a non-empty string, not ${describeType(value)}`);
    ok = false;
  }
  if (!ok) return null;
  const name = claim as string;
  const text = value as string;
  return operator === 'includes'
    ? { description: `${name} includes ${JSON.stringify(text)}`, claims: [name], matches: includesMatcher(name, text) }
    : { description: `${name} equals ${JSON.stringify(text)}`, claims: [name], matches: equalsMatcher(name, text) };
}

function compileEmailCondition(raw: Record<string, unknown>, path: JsonPath, report: Report): CompiledCondition | null {
  checkKeys(raw, EMAIL_KEYS, path, report);
  const { emailDomain, allowMissingEmailVerified = false } = raw;
  let ok = true;
  if (typeof emailDomain !== 'string' || !DOMAIN.test(emailDomain.toLowerCase())) {
    report([...path, 'emailDomain'], `must be a domain name such as "example.com", not ${JSON.stringify(emailDomain)}`);
    ok = false;
  }
  if (typeof allowMissingEmailVerified !== 'boolean') {
    report([...path, 'allowMissingEmailVerified'], `must be true or false, not ${describeType(allowMissingEmailVerified)}`);
    ok = false;
  }
  if (!ok) return null;
  const domain = (emailDomain as string).toLowerCase();
  const verified = allowMissingEmailVerified ? 'email_verified is not false' : 'email_verified is true';
  return {
    description: `email domain is ${domain} and ${verified}`,
    claims: ['email', 'email_verified'],
    matches: emailDomainMatcher(domain, allowMissingEmailVerified as boolean),
  };
}

/** Compiles one condition of a rule's `when` into a closure, or reports every problem with it. */
export function compileCondition(raw: unknown, path: JsonPath, report: Report): CompiledCondition | null {
  if (!isPlainObject(raw)) {
    report(path, `must be a condition object, not ${describeType(raw)}`);
    return null;
  }
  if ('emailDomain' in raw) return compileEmailCondition(raw, path, report);
  if ('claim' in raw) return compileClaimCondition(raw, path, report);
  report(path, "must have 'claim' (with 'includes' or 'equals') or 'emailDomain'");
  return null;
}
