import type { JsonPath } from './check-shape.ts';

export interface JsonScan {
  /** The first syntax error, located by line and column (V8's messages do not always say where). */
  readonly syntaxError: string | null;
  /** Keys repeated within one object: JSON.parse silently keeps the last, which would hide a grant. */
  readonly duplicateKeys: JsonPath[];
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4}))*"/y;
const WHITESPACE = /[ \t\n\r]*/y;
const MAX_DEPTH = 64;

class ScanError extends Error {
  constructor(readonly position: number, message: string) {
    super(message);
  }
}

/** Walks JSON text without building values, to locate syntax errors and find duplicate keys. */
export function scanJson(text: string): JsonScan {
  const duplicateKeys: JsonPath[] = [];
  let i = 0;
  const skip = () => {
    WHITESPACE.lastIndex = i;
    WHITESPACE.test(text);
    i = WHITESPACE.lastIndex;
  };
  const token = (pattern: RegExp, what: string): string => {
    pattern.lastIndex = i;
    const match = pattern.exec(text);
    if (match === null) throw new ScanError(i, `expected ${what}`);
    i = pattern.lastIndex;
    return match[0];
  };
  const expect = (character: string, what: string) => {
    skip();
    if (text[i] !== character) throw new ScanError(i, `expected ${what}`);
    i += 1;
  };
  const value = (path: JsonPath): void => {
    if (path.length > MAX_DEPTH) throw new ScanError(i, `nested deeper than ${MAX_DEPTH} levels`);
    skip();
    const character = text[i];
    if (character === '{') {
      i += 1;
      skip();
      if (text[i] === '}') { i += 1; return; }
      const seen = new Set<string>();
      for (;;) {
        skip();
        const key = JSON.parse(token(STRING, 'a property name in double quotes')) as string;
        if (seen.has(key)) duplicateKeys.push([...path, key]);
        seen.add(key);
        expect(':', "':' after a property name");
        value([...path, key]);
        skip();
        if (text[i] === '}') { i += 1; return; }
        expect(',', "',' or '}' after a property value");
      }
    }
    if (character === '[') {
      i += 1;
      skip();
      if (text[i] === ']') { i += 1; return; }
      for (let index = 0; ; index += 1) {
        value([...path, index]);
        skip();
        if (text[i] === ']') { i += 1; return; }
        expect(',', "',' or ']' after an array element");
      }
    }
    if (character === '"') { token(STRING, 'a string (control characters must be escaped)'); return; }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) { i += literal.length; return; }
    }
    token(NUMBER, character === undefined ? 'a value, found the end of the file' : 'a value');
  };
  try {
    value([]);
    skip();
    if (i < text.length) throw new ScanError(i, 'expected the end of the file after the top-level value');
    return { syntaxError: null, duplicateKeys };
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    const before = text.slice(0, error.position);
    const line = before.split('\n').length;
    const column = error.position - before.lastIndexOf('\n');
    const found = error.position < text.length ? ` (found ${JSON.stringify(text[error.position])})` : '';
    return { syntaxError: `line ${line}, column ${column}: ${error.message}${found}`, duplicateKeys };
  }
}
