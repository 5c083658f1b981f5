import type { RequestHandler } from 'express';
import { publicProfileOf, readSessionUser, type SessionUser } from '../auth/session-user.ts';
import { ERRORS } from '../errors/app-error.ts';
import type { PermissionsExplanation } from '../policy/explain-permissions.ts';
import type { DataProviderLinks, Permissions, TokenSigner } from './create-token-signer.ts';
import { createScopeResolver, queryOf } from './scope-for-request.ts';

/**
 * `sessionId` lets a resolver remember a session's answer until its login or its re-validated claims change.
 * `explain`, when the resolver has a policy, says which rule granted each entry (dev mode's page shows it).
 */
export type PermissionsResolver = ((user: SessionUser, sessionId: string) => { per: Permissions; dpv: DataProviderLinks }) & {
  explain?: (user: SessionUser) => PermissionsExplanation;
};

/** GET /hivekit-access-token: thin on purpose, it runs on every page load of every app using us. */
export function createTokenHandler(options: { signer: TokenSigner; permissionsFor: PermissionsResolver }): RequestHandler {
  const scopeFor = createScopeResolver();
  return function mintAccessToken(req, res) {
    res.set('Cache-Control', 'no-store');
    const user = readSessionUser(req);
    if (!user) {
      res.status(401).json({ authenticated: false });
      return;
    }
    // Issue 15: ?realm=…&per=…&strict=… asks for less; no query string costs one indexOf.
    const scope = scopeFor(options.permissionsFor(user, req.sessionID), queryOf(req.url));
    if (scope.kind === 'refused') {
      res.status(403).json({ error: 'scope_not_granted', message: ERRORS.scope_not_granted.message, dropped: scope.dropped });
      return;
    }
    const minted = options.signer.mint(user.sub, scope.per, scope.dpv);
    // Carried by this request's own log line (log-requests.ts): one write per token, not two.
    res.locals.logFields = { mint: { sub: user.sub, jti: minted.jti, expiresAt: minted.expiresAt } };
    const body = { authenticated: true, user: publicProfileOf(user), token: minted.token, expiresAt: minted.expiresAt };
    res.json(scope.kind === 'narrowed' ? { ...body, dropped: scope.dropped } : body);
  };
}
