import type { Config } from '../config/load-config.ts';
import type { RawSettings } from '../config/settings.ts';
import type { Logger } from '../logging/logger.ts';
import { packagePath } from '../package-path.ts';
import { ensureDevSecrets } from './dev-secrets.ts';
import { startEmbeddedProvider } from './embedded-provider.ts';
import { formatBanner } from './format-banner.ts';
import { loadDemoUsers } from './load-demo-users.ts';

export const DEV_CLIENT_ID = 'hivekit-token-bff-dev';
const DEMO_USERS_FILE = packagePath('server', 'dev', 'demo-users.json');
const EXAMPLE_POLICY_FILE = packagePath('policy.example.json');

export interface DevSetup {
  defaults: RawSettings;
  dataDir: string;
  secretsCreated: boolean;
}

export interface DevProvider {
  close(): Promise<void>;
  banner(): string;
}

/** Dev mode's stand-ins for everything production must be given: generated once, kept in the data folder. */
export async function devConfigDefaults(dataDir: string, devOidcPort: string): Promise<DevSetup> {
  const secrets = await ensureDevSecrets(dataDir);
  return {
    dataDir,
    secretsCreated: secrets.created,
    defaults: {
      DATA_DIR: dataDir,
      OIDC_ISSUER: `http://localhost:${devOidcPort}`,
      OIDC_CLIENT_ID: DEV_CLIENT_ID,
      OIDC_CLIENT_SECRET: secrets.oidcClientSecret,
      SESSION_SECRET: secrets.sessionSecret,
      HIVEKIT_TENANT_ID: secrets.hivekitTenantId,
      HIVEKIT_SECRET: secrets.hivekitSecret,
      HIVEKIT_SECRET_ID: secrets.hivekitSecretId,
      PERMISSIONS_FILE: EXAMPLE_POLICY_FILE,
    },
  };
}

/**
 * The embedded OpenID provider, reached by the app exactly like a real one: discovery over HTTP,
 * PKCE, signed ID tokens. Nothing in the login path knows it is local.
 */
export async function startDevProvider(config: Config, setup: DevSetup, logger: Logger): Promise<DevProvider> {
  const users = await loadDemoUsers(DEMO_USERS_FILE);
  const provider = await startEmbeddedProvider({
    host: 'localhost',
    port: config.devOidcPort,
    clients: [{
      clientId: config.oidc.clientId,
      clientSecret: config.oidc.clientSecret,
      redirectUris: [config.oidc.redirectUri],
      postLogoutRedirectUris: [config.oidc.postLogoutRedirectUri],
    }],
    users,
    logger,
    showUserList: true,
    appUrl: config.publicUrl,
  });
  if (provider.issuer !== config.oidc.issuer) {
    await provider.close();
    throw new Error(`the embedded provider runs at ${provider.issuer} but OIDC_ISSUER is ${config.oidc.issuer}`);
  }
  return {
    close: provider.close,
    banner: () => formatBanner({ publicUrl: config.publicUrl, issuer: provider.issuer, dataDir: setup.dataDir, users, secretsCreated: setup.secretsCreated }),
  };
}
