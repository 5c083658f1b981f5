// passport-openidconnect 0.1.2 ships no types; only what oidc-adapter.ts uses is declared.
declare module 'passport-openidconnect' {
  import type { Strategy } from 'passport';
  const OpenIDConnectStrategy: new (options: Record<string, unknown>, verify: (...args: never[]) => void) => Strategy;
  export default OpenIDConnectStrategy;
}
