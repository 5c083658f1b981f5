import type { Config } from '../config/load-config.ts';
import { checkClientCredentials, checkClock, checkDiscovery, checkJwks, checkRedirectUri } from './check-provider.ts';
import { checkHivekitSecret, checkPolicy, checkSessionStore } from './check-local.ts';
import type { CheckResult } from './check-result.ts';

const skipped = (name: string): CheckResult => ({ name, ok: false, detail: 'not checked: the provider\'s discovery failed', fix: 'fix discovery first' });

/** Every check of `npm run doctor` against a valid configuration, in the order an operator fixes them. */
export async function diagnose(config: Config): Promise<CheckResult[]> {
  const discovery = await checkDiscovery(config);
  const { metadata, answer } = discovery;
  return [
    discovery.result,
    metadata ? await checkJwks(metadata) : skipped('jwks'),
    await checkRedirectUri(config, metadata),
    metadata ? await checkClientCredentials(config, metadata) : skipped('client credentials'),
    await checkSessionStore(config),
    await checkPolicy(config),
    checkHivekitSecret(config),
    answer ? checkClock(answer) : skipped('clock'),
  ];
}
