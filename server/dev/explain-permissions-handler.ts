import type { RequestHandler } from 'express';
import { readSessionUser } from '../auth/session-user.ts';
import type { PermissionsExplanation } from '../policy/explain-permissions.ts';
import type { SessionUser } from '../auth/session-user.ts';

/**
 * GET /dev/permissions (dev mode only): why the signed-in user's token holds what it holds, from
 * the policy's own evaluation, so the demo page never has to guess from the token. Production
 * does not mount it: the policy's rule texts are the operator's, not the user's.
 */
export function explainPermissionsHandler(explain: ((user: SessionUser) => PermissionsExplanation) | undefined): RequestHandler {
  return function explainSessionPermissions(req, res) {
    res.set('Cache-Control', 'no-store');
    const user = readSessionUser(req);
    if (!user) {
      res.status(401).json({ authenticated: false });
      return;
    }
    if (!explain) {
      res.json({ authenticated: true, sub: user.sub, explanation: null, reason: 'no PERMISSIONS_FILE: tokens carry empty per and dpv' });
      return;
    }
    res.json({ authenticated: true, sub: user.sub, explanation: explain(user) });
  };
}
