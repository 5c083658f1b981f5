import type { Config } from './load-config.ts';

export interface ConfigWarning {
  setting: string;
  message: string;
}

/** Settings that are valid but probably not what the operator meant; main.ts logs them at start. */
export function configWarnings(config: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  if (config.trustProxy === true) {
    warnings.push({
      setting: 'TRUST_PROXY',
      message: 'TRUST_PROXY=true trusts every X-Forwarded-For entry, so any client can forge its address and dodge the login rate limit; '
        + 'set the hop count of your proxies (usually 1) or their addresses instead',
    });
  }
  if (config.isProduction && config.trustProxy === false && !config.session.cookieSecure) {
    warnings.push({
      setting: 'TRUST_PROXY',
      message: 'TRUST_PROXY is false: right only when clients reach this service directly. Behind a proxy every user shares the proxy\'s '
        + 'address for the login rate limit and in the logs; set TRUST_PROXY to the hop count of your proxies (usually 1) or their addresses',
    });
  }
  // Production refuses this (loadConfig); elsewhere it is a warning so tests and local https setups start.
  if (config.trustProxy === false && config.session.cookieSecure) warnings.push({ setting: 'TRUST_PROXY', message: `TRUST_PROXY ${HTTPS_WITHOUT_TRUSTED_PROXY}` });
  return warnings;
}

export const HTTPS_WITHOUT_TRUSTED_PROXY = 'is false, but PUBLIC_URL is https and this service speaks plain http: TLS ends at a proxy whose '
  + 'X-Forwarded-Proto is not trusted, so the Secure session cookie is never set and every login fails; '
  + 'set TRUST_PROXY to the hop count of your proxies (usually 1) or their addresses';
