import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export type IdTokenFlaw = 'none' | 'bad-signature' | 'alg-none' | 'wrong-issuer' | 'wrong-audience' | 'wrong-nonce' | 'expired'
  | 'hs256-client-secret' | 'null-payload' | 'object-sub' | 'unknown-kid'
  /** Unexpired (exp an hour ahead) but issued an hour ago: a token kept and replayed. */
  | 'issued-long-ago'
  /** Issued an hour from now: a provider clock far ahead, or a forgery dated to outlive its exp. */
  | 'issued-in-future';
export type UserinfoAnswer = 'json' | 'html' | 'other-subject' | 'huge';
/** How an endpoint fails: no answer at all, HTML, a 500, or a 10 MB body. */
export type Outage = 'hang' | 'html' | 'error500' | 'huge';
export type Endpoint = 'discovery' | 'jwks' | 'token' | 'userinfo';

/** iat and exp of the forged ID token, in seconds from now. */
const TIMES: Partial<Record<IdTokenFlaw, { iat: number; exp: number }>> & { none: { iat: number; exp: number } } = {
  none: { iat: 0, exp: 300 },
  expired: { iat: -7200, exp: -3600 },
  'issued-long-ago': { iat: -3600, exp: 3600 },
  'issued-in-future': { iat: 3600, exp: 7200 },
};

/**
 * A provider that lies on purpose, for what a real provider cannot be made to do: forge ID tokens
 * with one flaw each, answer userinfo with garbage. Everything else follows the protocol.
 */
export async function startLyingProvider(options: {
  clientId: string; clientSecret?: string; flaw?: IdTokenFlaw; userinfo?: UserinfoAnswer;
  /** Discovery's token_endpoint_auth_methods_supported (and signing algs); absent unless given. */
  tokenEndpointAuthMethods?: string[]; tokenEndpointAuthSigningAlgs?: string[];
}) {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const impostor = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'real-key', alg: 'RS256', use: 'sig' };
  const state = {
    flaw: options.flaw ?? 'none',
    userinfo: options.userinfo ?? 'json',
    outages: new Map<Endpoint, Outage>(),
    lastAuthorize: {} as Record<string, string>,
    lastTokenBody: {} as Record<string, string>,
    lastTokenAuthorization: undefined as string | undefined,
  };
  const hanging = new Set<express.Response>();
  const app = express();
  let issuer = '';
  const failWhenTold = (endpoint: Endpoint): express.RequestHandler => (_req, res, next) => {
    const outage = state.outages.get(endpoint);
    if (outage === undefined) return next();
    if (outage === 'hang') { hanging.add(res); return undefined; }
    if (outage === 'html') { res.status(200).type('html').send('<html><body>Maintenance</body></html>'); return undefined; }
    if (outage === 'error500') { res.status(500).json({ error: 'server_error' }); return undefined; }
    res.status(200).type('json').send(`{"padding":"${'x'.repeat(10 * 1024 * 1024)}"}`);
    return undefined;
  };
  app.use('/.well-known/openid-configuration', failWhenTold('discovery'));
  app.use('/jwks', failWhenTold('jwks'));
  app.use('/token', failWhenTold('token'));
  app.use('/userinfo', failWhenTold('userinfo'));

  app.get('/.well-known/openid-configuration', (_req, res) => {
    res.json({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      userinfo_endpoint: `${issuer}/userinfo`,
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: options.tokenEndpointAuthMethods,
      token_endpoint_auth_signing_alg_values_supported: options.tokenEndpointAuthSigningAlgs,
    });
  });
  app.get('/jwks', (_req, res) => { res.json({ keys: [jwk] }); });
  app.get('/authorize', (req, res) => {
    state.lastAuthorize = req.query as Record<string, string>;
    const back = new URL(String(req.query.redirect_uri));
    back.searchParams.set('code', 'code-from-lying-provider');
    back.searchParams.set('state', String(req.query.state));
    res.redirect(302, back.toString());
  });
  app.post('/token', express.urlencoded({ extended: false }), async (req, res) => {
    state.lastTokenBody = req.body as Record<string, string>;
    state.lastTokenAuthorization = req.get('authorization');
    res.json({ access_token: 'access-token', token_type: 'Bearer', id_token: await forgeIdToken() });
  });
  app.get('/userinfo', (_req, res) => {
    if (state.userinfo === 'html') res.type('html').send('<html><body>Service temporarily unavailable</body></html>');
    else if (state.userinfo === 'huge') res.json({ sub: 'user-1', padding: 'x'.repeat(2 * 1024 * 1024) });
    else res.json({ sub: state.userinfo === 'other-subject' ? 'someone-else' : 'user-1', groups: ['riders'] });
  });

  const forgeIdToken = async (): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      sub: state.flaw === 'object-sub' ? { id: 'user-1' } : 'user-1',
      name: 'User One',
      nonce: state.flaw === 'wrong-nonce' ? 'not-the-nonce' : state.lastAuthorize.nonce,
    };
    if (state.flaw === 'null-payload') return `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.bnVsbA.c2ln`;
    if (state.flaw === 'hs256-client-secret') {
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(issuer).setAudience(options.clientId)
        .setIssuedAt(now).setExpirationTime(now + 300).sign(new TextEncoder().encode(options.clientSecret ?? 's'));
    }
    if (state.flaw === 'alg-none') {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ ...claims, iss: issuer, aud: options.clientId, iat: now, exp: now + 300 })}.`;
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: state.flaw === 'unknown-kid' ? 'never-published' : 'real-key' })
      .setIssuer(state.flaw === 'wrong-issuer' ? 'https://evil.example' : issuer)
      .setAudience(state.flaw === 'wrong-audience' ? 'another-client' : options.clientId)
      .setIssuedAt(now + (TIMES[state.flaw] ?? TIMES.none).iat)
      .setExpirationTime(now + (TIMES[state.flaw] ?? TIMES.none).exp)
      .sign(state.flaw === 'bad-signature' ? impostor.privateKey : signing.privateKey);
  };

  const listen = (port: number): Promise<Server> => new Promise((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  let server = await listen(0);
  let running = true;
  const port = (server.address() as AddressInfo).port;
  issuer = `http://127.0.0.1:${port}`;
  const stop = () => new Promise<void>((resolve) => {
    running = false;
    for (const res of hanging) res.destroy();
    hanging.clear();
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return {
    issuer,
    state,
    /** The provider goes away: its port refuses connections until `restart`. */
    stop,
    restart: async () => {
      if (running) return;
      server = await listen(port);
      running = true;
    },
    close: stop,
  };
}
