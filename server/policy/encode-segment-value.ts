/** OpenID Connect Core 1.0 §2 caps `sub` at 255 ASCII characters; other inserted claims get the same cap. */
export const MAX_CLAIM_VALUE_LENGTH = 255;

/** RFC 3986 §2.3 unreserved characters: the only ones a claim value keeps as they are. */
const UNRESERVED_ONLY = /^[A-Za-z0-9._~-]+$/;
// encodeURIComponent leaves these alone, but `*` is Hivekit's wildcard and the rest are not unreserved.
const LEFT_BY_ENCODE_URI_COMPONENT = /[!'()*]/g;

export interface ValueRefusal {
  readonly refusal: string;
}

const MISSING: ValueRefusal = Object.freeze({ refusal: 'is missing' });
const NOT_A_STRING: ValueRefusal = Object.freeze({ refusal: 'is not a string' });
const EMPTY: ValueRefusal = Object.freeze({ refusal: 'is an empty string' });
const TOO_LONG: ValueRefusal = Object.freeze({ refusal: `is longer than ${MAX_CLAIM_VALUE_LENGTH} characters` });
const MALFORMED: ValueRefusal = Object.freeze({ refusal: 'is not well-formed Unicode (lone surrogate)' });

function percentEncode(character: string): string {
  return `%${character.charCodeAt(0).toString(16).toUpperCase()}`;
}

/**
 * Turns a claim value into text that stays exactly one literal id segment: every character outside
 * A-Z a-z 0-9 - . _ ~ becomes %XX (UTF-8, upper-case hex), so `*`, `/`, `%`, `{`, spaces and control
 * characters can never act as syntax. Values that cannot be inserted faithfully are refused.
 * Encoding is injective: two different values never give the same text.
 */
export function encodeSegmentValue(value: unknown): string | ValueRefusal {
  if (value === undefined || value === null) return MISSING;
  if (typeof value !== 'string') return NOT_A_STRING;
  if (value.length === 0) return EMPTY;
  if (value.length > MAX_CLAIM_VALUE_LENGTH) return TOO_LONG;
  if (UNRESERVED_ONLY.test(value)) return value;
  try {
    return encodeURIComponent(value).replace(LEFT_BY_ENCODE_URI_COMPONENT, percentEncode);
  } catch {
    return MALFORMED;
  }
}

export function isValueRefusal(value: string | ValueRefusal): value is ValueRefusal {
  return typeof value !== 'string';
}
