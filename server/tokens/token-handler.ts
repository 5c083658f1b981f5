import type { RequestHandler } from 'express';
import { publicProfileOf, readSessionUser, type SessionUser } from '../auth/session-user.ts';
import type { DataProviderLinks, Permissions, TokenSigner } from './create-token-signer.ts';

/** `sessionId` lets a resolver remember a session's answer: a session's user is fixed by its login. */
export type PermissionsResolver = (user: SessionUser, sessionId: string) => { per: Permissions; dpv: DataProviderLinks };

/** GET /hivekit-access-token: thin on purpose, it runs on every page load of every app using us. */
export function createTokenHandler(options: { signer: TokenSigner; permissionsFor: PermissionsResolver }): RequestHandler {
  return function mintAccessToken(req, res) {
    res.set('Cache-Control', 'no-store');
    const user = readSessionUser(req);
    if (!user) {
      res.status(401).json({ authenticated: false });
      return;
    }
    const { per, dpv } = options.permissionsFor(user, req.sessionID);
    const minted = options.signer.mint(user.sub, per, dpv);
    // Carried by this request's own log line (log-requests.ts): one write per token, not two.
    res.locals.logFields = { mint: { sub: user.sub, jti: minted.jti, expiresAt: minted.expiresAt } };
    res.json({ authenticated: true, user: publicProfileOf(user), token: minted.token, expiresAt: minted.expiresAt });
  };
}
