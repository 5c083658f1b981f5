import { readFile } from 'node:fs/promises';
import { compilePolicy } from './compile-policy.ts';
import type { PolicyCompilation } from './compile-policy.ts';
import { formatJsonPath } from './format-json-path.ts';
import type { PolicyProblem } from './policy-types.ts';
import { scanJson } from './scan-json.ts';

export type PolicyFileLoad = PolicyCompilation & { readonly text: string | null };

export type PolicyTextParse =
  | { readonly ok: true; readonly value: unknown; readonly problems: PolicyProblem[] }
  | { readonly ok: false; readonly problems: PolicyProblem[] };

/**
 * Parses policy text. A syntax error names the file, line and column; a key repeated within one
 * object is a problem (JSON.parse would silently keep the last one) but parsing goes on, so it is
 * reported together with everything else wrong in the file.
 */
export function parsePolicyText(text: string, file: string): PolicyTextParse {
  const source = text.replace(/^\uFEFF/, '');
  const scan = scanJson(source);
  if (scan.syntaxError !== null) {
    return { ok: false, problems: [{ path: '(file)', message: `${file} is not valid JSON: ${scan.syntaxError}` }] };
  }
  const problems = scan.duplicateKeys.map((path) => ({
    path: formatJsonPath(path),
    message: 'duplicate key: JSON keeps only the last one, so write each key once',
  }));
  return { ok: true, value: JSON.parse(source), problems };
}

/** Reads, parses and compiles a policy file; never throws for a missing, unreadable or invalid file. */
export async function loadPolicyFile(file: string, version = 1): Promise<PolicyFileLoad> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { ok: false, problems: [{ path: '(file)', message: `cannot read ${file}: ${reason}` }], warnings: [], text: null };
  }
  const parsed = parsePolicyText(text, file);
  if (!parsed.ok) return { ok: false, problems: parsed.problems, warnings: [], text };
  const compiled = compilePolicy(parsed.value, { version });
  if (parsed.problems.length === 0) return { ...compiled, text };
  const problems = [...parsed.problems, ...(compiled.ok ? [] : compiled.problems)];
  return { ok: false, problems, warnings: compiled.warnings, text };
}

export function formatPolicyProblem(problem: PolicyProblem): string {
  return `${problem.path}: ${problem.message}`;
}
