import type { Logger } from '../logging/logger.ts';
import type { PolicyHolder } from '../policy/create-policy-holder.ts';
import { evaluatePolicy } from '../policy/evaluate-policy.ts';
import { explainPermissions } from '../policy/explain-permissions.ts';
import type { CompiledPolicy } from '../policy/policy-types.ts';
import { boundedCache } from '../bounded-cache.ts';
import type { PermissionsResolver } from './token-handler.ts';

type Permissions = ReturnType<PermissionsResolver>;

interface Remembered {
  policy: CompiledPolicy;
  idToken: string;
  claimsCheckedAt: number | undefined;
  permissions: Permissions;
}

// About 1 KB each (the ID token is kept to recognise the login): ~10 MB at most.
const DEFAULT_MAX_SESSIONS = 10_000;

/**
 * per/dpv for a signed-in user from the current policy, evaluated once per session and policy
 * version rather than per token. A session's claims change only at login (a new session id and ID
 * token) and when the provider re-validates them (a new claimsCheckedAt), so those and the policy
 * decide when the answer is worked out again. Sessions beyond
 * the bound are forgotten least recently used first (a busy session stays) and simply evaluated again.
 */
export function policyPermissions(holder: PolicyHolder, logger: Logger, maxSessions = DEFAULT_MAX_SESSIONS): PermissionsResolver {
  const remembered = boundedCache<string, Remembered>(maxSessions);
  const resolve: PermissionsResolver = (user, sessionId) => {
    const policy = holder.current();
    const hit = remembered.get(sessionId);
    if (hit && hit.policy === policy && hit.idToken === user.idToken && hit.claimsCheckedAt === user.claimsCheckedAt) return hit.permissions;
    const { per, dpv, refused } = evaluatePolicy(policy, user.claims, { explain: false });
    // Reasons only: the refused values are exactly the hostile input that must stay out of logs.
    if (refused.length > 0) logger.warn('policy_grant_refused', { sub: user.sub, refused });
    // Shared by every token of the session from now on: nothing may change it.
    const permissions = deepFreeze({ per, dpv });
    remembered.set(sessionId, { policy, idToken: user.idToken, claimsCheckedAt: user.claimsCheckedAt, permissions });
    return permissions;
  };
  resolve.explain = (user) => explainPermissions(holder.current(), user.claims);
  return resolve;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
