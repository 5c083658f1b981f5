import type { DemoUser } from './load-demo-users.ts';

export interface BannerInfo {
  /** External base URL of the app (PUBLIC_URL), without a trailing slash. */
  publicUrl: string;
  /** Issuer URL of the embedded OpenID provider. */
  issuer: string;
  dataDir: string;
  users: DemoUser[];
  /** Whether the dev secrets were generated on this run (true) or reused from the data folder. */
  secretsCreated: boolean;
}

/** The dev-mode start-up banner: what runs where, who can log in, and how to switch to real services. */
export function formatBanner(info: BannerInfo): string {
  const base = info.publicUrl.replace(/\/+$/, '');
  const secrets = info.secretsCreated ? 'generated now' : 'reused';
  return [
    'hivekit-token-bff is running in DEV MODE - not for production',
    '',
    ...table([
      ['  App', base],
      ['  Embedded OpenID provider', `${info.issuer}  (demo users below, runs inside this process)`],
      ['  Data folder', `${info.dataDir}  (dev Hivekit and session secrets ${secrets})`],
    ]),
    '',
    `Demo users - open ${base}/ and log in as one of them:`,
    ...table([
      ['  username', 'password', 'name', 'groups'],
      ...info.users.map((user) => [`  ${user.username}`, user.password, user.name, user.groups.join(', ') || '(none)']),
    ]),
    '',
    'To use a real OpenID provider, register a confidential web client there with',
    `  redirect (callback) URL   ${base}/oauth2/redirect`,
    `  post-logout redirect URL  ${base}/`,
    'and set:',
    '  OIDC_ISSUER=<issuer URL, e.g. https://your-tenant.eu.auth0.com/>',
    '  OIDC_CLIENT_ID=<client id>',
    '  OIDC_CLIENT_SECRET=<client secret>',
    '',
    'To use a real Hivekit tenant, set:',
    '  HIVEKIT_TENANT_ID=<tenant id>',
    '  HIVEKIT_SECRET=<the tenant secret, base64, at least 32 bytes>',
    '  HIVEKIT_SECRET_ID=<the id (kid) of that secret>',
    'and for sessions that no dev file holds:',
    '  SESSION_SECRET=<at least 32 random characters, e.g. from: openssl rand -base64 32>',
    '',
    'NODE_ENV=production turns every dev default off and refuses to start without these.',
    '',
  ].join('\n');
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  '));
}
