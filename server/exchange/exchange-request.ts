import { OAuthError } from './oauth-error.ts';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** The downscoping parameters of the browser token route (tokens/scope-request.ts), accepted here too. */
const SCOPE_PARAMETERS = ['realm', 'per', 'strict'];
// Parameters a client may repeat: realm is our own list parameter; RFC 8693 §2.1 lets resource and audience repeat.
const REPEATABLE = new Set(['realm', 'resource', 'audience']);

export interface ExchangeRequest {
  readonly subjectToken: string;
  /** Only realm/per/strict, for parseScopeRequest; empty when the caller asked for everything. */
  readonly scope: URLSearchParams;
}

/**
 * Reads an RFC 8693 §2.1 token exchange request from its form parameters. RFC 6749 §3.2: empty
 * parameters count as absent, unknown ones are ignored (public clients send client_id), none but
 * the repeatable ones may appear twice.
 */
export function parseExchangeRequest(form: URLSearchParams): ExchangeRequest {
  const values = new Map<string, string[]>();
  for (const [name, value] of form) {
    if (value === '') continue;
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  for (const [name, list] of values) {
    if (list.length > 1 && !REPEATABLE.has(name)) throw new OAuthError('invalid_request', `${name.slice(0, 40)} is given more than once.`);
  }
  const one = (name: string) => values.get(name)?.[0];
  const grantType = one('grant_type');
  if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is missing.');
  if (grantType !== TOKEN_EXCHANGE_GRANT) throw new OAuthError('unsupported_grant_type', `Only ${TOKEN_EXCHANGE_GRANT} is supported.`);
  const subjectToken = one('subject_token');
  if (subjectToken === undefined) throw new OAuthError('invalid_request', 'subject_token is missing.');
  const subjectTokenType = one('subject_token_type');
  if (subjectTokenType === undefined) throw new OAuthError('invalid_request', 'subject_token_type is missing.');
  // RFC 8693 §2.2.2: an unsupported subject token type is invalid_request.
  if (subjectTokenType !== ACCESS_TOKEN_TYPE) throw new OAuthError('invalid_request', `subject_token_type must be ${ACCESS_TOKEN_TYPE}.`);
  if (values.has('actor_token') || values.has('actor_token_type')) {
    throw new OAuthError('invalid_request', 'Delegation (actor_token) is not supported.');
  }
  const requested = one('requested_token_type');
  if (requested !== undefined && requested !== JWT_TOKEN_TYPE) throw new OAuthError('invalid_request', `requested_token_type may only be ${JWT_TOKEN_TYPE}.`);
  // The issued token is always a Hivekit token for this tenant; narrowing is done with realm= and per=.
  if (values.has('resource') || values.has('audience')) {
    throw new OAuthError('invalid_target', 'This service issues Hivekit tokens only; narrow them with realm and per instead of resource or audience.');
  }
  if (values.has('scope')) throw new OAuthError('invalid_scope', 'scope is not used here; narrow the token with realm and per.');
  const scope = new URLSearchParams();
  for (const name of SCOPE_PARAMETERS) for (const value of values.get(name) ?? []) scope.append(name, value);
  return { subjectToken, scope };
}
