import { resolve } from 'node:path';
import type { DevSetup } from '../dev/dev-mode.ts';
import { isDevMode, loadConfig, type Config } from './load-config.ts';
import type { RawSettings } from './settings.ts';

/**
 * The settings as `npm start` reads them, for main.ts and the operator scripts alike: in dev mode
 * the secrets generated once in the data folder fill the gaps. The dev-mode module (and with it the
 * embedded provider's dependencies) is imported only in dev mode, so production never loads it.
 */
export async function loadEnvironmentConfig(env: RawSettings): Promise<{ config: Config; dev: DevSetup | undefined }> {
  if (!isDevMode(env)) return { config: loadConfig(env), dev: undefined };
  const { devConfigDefaults } = await import('../dev/dev-mode.ts');
  // Needed before loadConfig: dev mode keeps its generated secrets there. Trimmed as loadConfig trims.
  const dev = await devConfigDefaults(resolve(env.DATA_DIR?.trim() || './data'), env.DEV_OIDC_PORT?.trim() || '3001');
  return { config: loadConfig(env, dev.defaults), dev };
}
