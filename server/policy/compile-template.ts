import type { CompiledTemplate, TemplatePart } from './policy-types.ts';

export const MAX_TEMPLATE_LENGTH = 1024;
const MAX_VARIABLE_NAME_LENGTH = 256;
const LITERAL_CHARACTER = /^[A-Za-z0-9._~*-]$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

/** `pattern` keys of `grants` may use `*` segments; `id`s in `dpv` name exactly one object. */
export type TemplateKind = 'pattern' | 'id';

export type TemplateCompilation =
  | { readonly ok: true; readonly template: CompiledTemplate }
  | { readonly ok: false; readonly errors: string[] };

/** `{sub}` and `{claims.<name>}` are the only variables; anything else is a typo worth reporting. */
function claimOfVariable(name: string): string | null {
  if (name === 'sub') return 'sub';
  if (name.startsWith('claims.') && name.length > 'claims.'.length && name.length <= MAX_VARIABLE_NAME_LENGTH) {
    return name.slice('claims.'.length);
  }
  return null;
}

function checkSegment(parts: TemplatePart[], kind: TemplateKind, errors: string[]): void {
  const literalOnly = parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : null;
  if (parts.length === 0) errors.push("has an empty segment (a leading, trailing or doubled '/')");
  else if (literalOnly === '.' || literalOnly === '..') errors.push(`has a '${literalOnly}' segment`);
  else if (literalOnly === '*' && kind === 'id') errors.push("names one object, so '*' is not allowed");
  else if (literalOnly !== '*' && parts.some((part) => typeof part === 'string' && part.includes('*'))) {
    errors.push("uses '*' inside a segment; '*' must be a whole segment, as in \"cars/*/mycar\"");
  }
}

/**
 * Parses a pattern or id with `{variable}` placeholders once, at load, into segments so that
 * evaluation only concatenates. Literal text may use A-Z a-z 0-9 - . _ ~ and %XX, plus whole-segment `*`
 * in patterns; claim names inside braces may contain anything but braces (Auth0 namespaces them as URLs).
 */
export function compileTemplate(source: string, kind: TemplateKind, indexOfClaim: (claim: string) => number): TemplateCompilation {
  if (source.length === 0) return { ok: false, errors: ['is empty'] };
  if (source.length > MAX_TEMPLATE_LENGTH) return { ok: false, errors: [`is longer than ${MAX_TEMPLATE_LENGTH} characters`] };
  const errors: string[] = [];
  const badCharacters = new Set<string>();
  const segments: TemplatePart[][] = [[]];
  let current = segments[0]!;
  const appendLiteral = (text: string) => {
    const last = current.length - 1;
    if (last >= 0 && typeof current[last] === 'string') current[last] += text;
    else current.push(text);
  };
  let i = 0;
  while (i < source.length) {
    const character = source[i]!;
    if (character === '/') {
      current = [];
      segments.push(current);
      i += 1;
    } else if (character === '{') {
      const close = source.indexOf('}', i + 1);
      const reopen = source.indexOf('{', i + 1);
      if (close === -1 || (reopen !== -1 && reopen < close)) {
        errors.push(`has a '{' at position ${i} without a matching '}'`);
        break;
      }
      const name = source.slice(i + 1, close);
      const claim = claimOfVariable(name);
      if (claim === null) errors.push(`names an unknown variable {${name}}; use {sub} or {claims.<claim name>}`);
      else current.push(indexOfClaim(claim));
      i = close + 1;
    } else if (character === '}') {
      errors.push(`has a '}' at position ${i} without a matching '{'`);
      i += 1;
    } else if (character === '%') {
      const hex = source.slice(i + 1, i + 3);
      const isEscape = HEX_PAIR.test(hex);
      if (isEscape) appendLiteral(`%${hex}`);
      else errors.push(`has a '%' at position ${i} that is not followed by two hex digits`);
      i += isEscape ? 3 : 1;
    } else {
      if (LITERAL_CHARACTER.test(character)) appendLiteral(character);
      else badCharacters.add(JSON.stringify(character));
      i += 1;
    }
  }
  if (badCharacters.size > 0) {
    errors.push(`contains ${[...badCharacters].join(', ')}; literal text may use only A-Z a-z 0-9 - . _ ~ and %XX (put claim values in {…})`);
  }
  if (errors.length === 0) for (const segment of segments) checkSegment(segment, kind, errors);
  if (errors.length > 0) return { ok: false, errors: [...new Set(errors)] };

  const compiled = segments.map((parts) => (parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : Object.freeze(parts)));
  const isStatic = compiled.every((segment) => typeof segment === 'string');
  return {
    ok: true,
    template: Object.freeze({
      source,
      staticValue: isStatic ? compiled.join('/') : null,
      segments: Object.freeze(compiled),
    }),
  };
}
