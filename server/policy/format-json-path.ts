const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['rules', 2, 'grants', 'london', 'riders/{sub}']` → `rules[2].grants.london["riders/{sub}"]`. */
export function formatJsonPath(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}
