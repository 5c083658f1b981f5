/** One line of `npm run doctor`: what was checked, how it went, and for a failure what to do. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

export function formatCheck(result: CheckResult): string {
  return `${result.ok ? 'ok  ' : 'FAIL'}  ${result.name.padEnd(18)} ${result.detail}${result.fix ? ` — fix: ${result.fix}` : ''}`;
}
