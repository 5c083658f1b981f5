import type { Logger } from '../logging/logger.ts';
import type { PolicyHolder } from '../policy/create-policy-holder.ts';
import { evaluatePolicy } from '../policy/evaluate-policy.ts';
import type { PermissionsResolver } from './token-handler.ts';

/** per/dpv for a signed-in user from the current policy; the policy is compiled once per version, never per request. */
export function policyPermissions(holder: PolicyHolder, logger: Logger): PermissionsResolver {
  return (user) => {
    const { per, dpv, refused } = evaluatePolicy(holder.current(), user.claims, { explain: false });
    // Reasons only: the refused values are exactly the hostile input that must stay out of logs.
    if (refused.length > 0) logger.warn('policy_grant_refused', { sub: user.sub, refused });
    return { per, dpv };
  };
}
