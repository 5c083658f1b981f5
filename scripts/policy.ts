import { parseArgs } from 'node:util';
import { evaluatePolicy, measurePermissionClaims } from '../server/policy/evaluate-policy.ts';
import { formatPolicyProblem, loadPolicyFile, parsePolicyText } from '../server/policy/load-policy-file.ts';
import type { PolicyGrant, PolicyProblem } from '../server/policy/policy-types.ts';
import { subjectOf } from '../server/exchange/subject-claims.ts';
import { downscopePermissions, type DownscopedPermissions } from '../server/tokens/downscope-permissions.ts';
import { parseScopeRequest } from '../server/tokens/scope-request.ts';

const USAGE = `Usage:
  npm run policy -- check [--file policy.json]
  npm run policy -- explain --claims '{"sub":"alice","groups":["riders"]}' [--request 'realm=london&per=…'] [--file policy.json] [--json]
  npm run policy -- explain --access-token-claims '{"sub":"job","client_id":"job","scope":"hivekit:read"}' [--request …]

--file defaults to $PERMISSIONS_FILE, then policy.example.json.
check exits 1 when the policy is invalid; explain prints the per and dpv those claims would get,
and with --request (the token route's query string) what a downscoped token would carry and drop.
--access-token-claims takes an access token's payload instead (a user's or a machine client's) and
reads it as POST /token does: protocol claims dropped, scope as an array, client_id from azp.`;

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function printProblems(label: string, problems: readonly PolicyProblem[]): void {
  for (const problem of problems) process.stdout.write(`  ${label}${formatPolicyProblem(problem)}\n`);
}

function describeGrant(grant: PolicyGrant): string {
  const letters = grant.letters === undefined ? '' : ` ${grant.letters}`;
  const from = grant.template === grant.id ? '' : ` (from ${grant.template})`;
  const why = grant.description === null ? '' : ` — ${grant.description}`;
  return `  ${grant.claim} ${grant.realm} ${grant.id}${letters}${from}: ${grant.rule}${why}`;
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      file: { type: 'string' }, claims: { type: 'string' }, 'access-token-claims': { type: 'string' }, request: { type: 'string' },
      json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
} catch (error) {
  fail(`${(error as Error).message}\n\n${USAGE}`, 2);
}
const { values, positionals } = parsed;
const command = positionals[0];
if (values.help || command === undefined) fail(USAGE, command === undefined && !values.help ? 2 : 0);
if (command !== 'check' && command !== 'explain') fail(`Unknown command ${JSON.stringify(command)}.\n\n${USAGE}`, 2);

const file = values.file ?? (process.env['PERMISSIONS_FILE'] || 'policy.example.json');
const loaded = await loadPolicyFile(file);

if (command === 'check') {
  if (loaded.ok) {
    const labels = loaded.policy.rules.map((rule) => rule.label).join(', ');
    process.stdout.write(`${file}: valid (${labels}), ${loaded.warnings.length} warnings\n`);
  } else {
    process.stdout.write(`${file}: invalid, ${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'}\n`);
    printProblems('', loaded.problems);
  }
  printProblems('warning: ', loaded.warnings);
  process.exit(loaded.ok ? 0 : 1);
}

if (!loaded.ok) {
  process.stdout.write(`${file}: invalid, run "npm run policy -- check --file ${file}" for details\n`);
  printProblems('', loaded.problems);
  process.exit(1);
}
const tokenClaims = values['access-token-claims'];
if ((values.claims === undefined) === (tokenClaims === undefined)) {
  fail(`explain needs either --claims '<JSON object>' or --access-token-claims '<JSON object>'.\n\n${USAGE}`, 2);
}
const flag = tokenClaims === undefined ? '--claims' : '--access-token-claims';
const claims = parsePolicyText((tokenClaims ?? values.claims)!, flag);
if (!claims.ok) fail(claims.problems[0]!.message, 2);
if (typeof claims.value !== 'object' || claims.value === null || Array.isArray(claims.value)) {
  fail(`${flag} must be a JSON object such as {"sub":"alice","groups":["riders"]}`, 2);
}
// POST /token's reading of a subject token (server/exchange/subject-claims.ts), so a rule for a machine client can be tried.
let subject: ReturnType<typeof subjectOf> | undefined;
if (tokenClaims !== undefined) {
  try {
    subject = subjectOf(claims.value as Record<string, unknown>);
  } catch {
    fail('--access-token-claims names neither sub nor client_id/azp: POST /token would refuse it (invalid_grant).', 2);
  }
}
const policyClaims = subject?.claims ?? claims.value as Record<string, unknown>;

const result = evaluatePolicy(loaded.policy, policyClaims);
let downscoped: (DownscopedPermissions & { strict: boolean }) | null = null;
const requestParams = values.request === undefined ? null : new URLSearchParams(values.request.replace(/^\?/, ''));
if (requestParams !== null) {
  const request = parseScopeRequest(requestParams);
  if (request === null) fail('--request names no realm, per or strict parameter.', 2);
  if (!request.ok) fail(`--request: ${request.message}`, 2);
  downscoped = { ...downscopePermissions(result, request.request), strict: request.request.strict };
}
if (values.json) {
  const withSubject = subject === undefined ? result : { ...result, subject };
  process.stdout.write(`${JSON.stringify(downscoped === null ? withSubject : { ...withSubject, downscoped }, null, 2)}\n`);
  process.exit(0);
}
const out: string[] = [
  `Policy ${file}`,
  ...(subject === undefined ? [] : [
    `Subject token: ${subject.kind === 'client' ? `machine client ${subject.clientId} (no end user)` : `user ${subject.sub}${subject.clientId === undefined ? '' : ` via client ${subject.clientId}`}`}; the token's sub would be ${JSON.stringify(subject.sub)}`,
    `Claims the policy sees: ${JSON.stringify(subject.claims)}`,
  ]),
  `per: ${JSON.stringify(result.per, null, 2)}`,
  `dpv: ${JSON.stringify(result.dpv, null, 2)}`,
  'Granted by:',
  ...(result.grants.length === 0 ? ['  (no rule grants anything to these claims)'] : result.grants.map(describeGrant)),
];
if (result.refused.length > 0) {
  out.push('Refused (grant dropped):');
  for (const r of result.refused) out.push(`  ${r.claim} ${r.realm} ${r.template}: ${r.rule}: ${r.reason}`);
}
out.push(`Size of per + dpv: ${measurePermissionClaims(result.per, result.dpv)} bytes of JSON`);
if (downscoped !== null) {
  const refused = downscoped.strict && downscoped.dropped.length > 0;
  out.push(
    `With the request ${[...requestParams!].map(([k, v]) => `${k}=${v}`).join(' ')}:`,
    refused ? '  refused (strict mode): 403 scope_not_granted, no token' : `per: ${JSON.stringify(downscoped.per, null, 2)}`,
    ...(refused ? [] : [`dpv: ${JSON.stringify(downscoped.dpv, null, 2)}`]),
    downscoped.dropped.length === 0 ? 'Dropped: nothing, everything asked for is granted' : 'Dropped:',
    ...downscoped.dropped.map((d) => `  ${d.realm}${d.pattern === undefined ? '' : ` ${d.pattern}`}${d.letters === undefined ? '' : ` ${d.letters}`}: ${d.reason}`),
  );
}
process.stdout.write(`${out.join('\n')}\n`);
