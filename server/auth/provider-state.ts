import type { ProviderCallOutcome } from './provider-http.ts';

/**
 * Whether the provider works right now, as the calls to it tell: reported by /readyz and as a
 * metric, but not a readiness condition (an instance can mint tokens for existing sessions
 * while the provider is down; taking every instance out of the load balancer would stop that too).
 */
export function createProviderState(isMetadataLoaded: () => boolean) {
  let lastAnswered: boolean | undefined;
  return {
    observe(outcome: ProviderCallOutcome): void {
      lastAnswered = outcome === 'answered';
    },
    isUp(): boolean {
      return isMetadataLoaded() && lastAnswered !== false;
    },
  };
}

export type ProviderState = ReturnType<typeof createProviderState>;
