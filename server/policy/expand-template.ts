import { encodeSegmentValue, isValueRefusal } from './encode-segment-value.ts';
import type { ValueRefusal } from './encode-segment-value.ts';
import type { CompiledTemplate } from './policy-types.ts';

/** Encoded claim values for one evaluation, filled on first use so unused claims cost nothing. */
export type ValueCache = Array<string | ValueRefusal | undefined>;

export interface TemplateRefusal {
  readonly reason: string;
}

/**
 * Inserts encoded claim values into a compiled template. Returns the id, or why it was refused:
 * a value that is missing, not a string, empty, too long or malformed, or one that would turn a
 * segment into `.` or `..`. Claims are read as own properties only, so `__proto__` or `constructor`
 * never resolve to something inherited.
 */
export function expandTemplate(
  template: CompiledTemplate,
  claims: Readonly<Record<string, unknown>>,
  variableClaims: readonly string[],
  cache: ValueCache,
): string | TemplateRefusal {
  if (template.staticValue !== null) return template.staticValue;
  let out = '';
  for (let s = 0; s < template.segments.length; s += 1) {
    const segment = template.segments[s]!;
    let text: string;
    if (typeof segment === 'string') {
      text = segment;
    } else {
      text = '';
      for (const part of segment) {
        if (typeof part === 'string') {
          text += part;
          continue;
        }
        let value = cache[part];
        if (value === undefined) {
          const claim = variableClaims[part]!;
          value = encodeSegmentValue(Object.hasOwn(claims, claim) ? claims[claim] : undefined);
          cache[part] = value;
        }
        if (isValueRefusal(value)) return { reason: `claim ${JSON.stringify(variableClaims[part])} ${value.refusal}` };
        text += value;
      }
      if (text === '.' || text === '..') return { reason: `the inserted claims would make the segment '${text}'` };
    }
    out += s === 0 ? text : `/${text}`;
  }
  return out;
}
