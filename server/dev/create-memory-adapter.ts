import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAt: number;
}

const SWEEP_THRESHOLD = 1000;
// As oidc-provider's own memory adapter: only tokens and codes go with their grant. An Interaction
// also carries a grantId, and revoking the previous user's grant when "Log in as someone else"
// ends their session must not delete the login in progress ("interaction session not found").
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/**
 * An in-memory oidc-provider adapter whose store is owned by the caller, unlike the library's
 * built-in one, so that a Provider rebuilt after a signing-key rotation keeps the sessions,
 * grants and codes of the one it replaces.
 */
export function createMemoryAdapter(now: () => number = Date.now): (model: string) => Adapter {
  const entries = new Map<string, Entry>();
  const uidIndex = new Map<string, string>();
  const userCodeIndex = new Map<string, string>();
  const grantIndex = new Map<string, Set<string>>();

  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry?.payload;
  };

  const sweep = () => {
    for (const [key, entry] of entries) if (entry.expiresAt <= now()) entries.delete(key);
    for (const [uid, id] of uidIndex) if (!entries.has(`Session:${id}`)) uidIndex.delete(uid);
    for (const [grantId, keys] of grantIndex) {
      for (const key of keys) if (!entries.has(key)) keys.delete(key);
      if (keys.size === 0) grantIndex.delete(grantId);
    }
  };

  return (model) => {
    const keyFor = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        if (entries.size > SWEEP_THRESHOLD) sweep();
        const key = keyFor(id);
        const expiresAt = expiresIn === undefined ? Infinity : now() + expiresIn * 1000;
        entries.set(key, { payload, expiresAt });
        if (model === 'Session' && typeof payload.uid === 'string') uidIndex.set(payload.uid, id);
        if (typeof payload.userCode === 'string') userCodeIndex.set(payload.userCode, id);
        if (GRANTABLE.has(model) && typeof payload.grantId === 'string') {
          const keys = grantIndex.get(payload.grantId) ?? new Set<string>();
          grantIndex.set(payload.grantId, keys.add(key));
        }
      },
      async find(id) {
        return live(keyFor(id));
      },
      async findByUid(uid) {
        const id = uidIndex.get(uid);
        return id === undefined ? undefined : live(keyFor(id));
      },
      async findByUserCode(userCode) {
        const id = userCodeIndex.get(userCode);
        return id === undefined ? undefined : live(keyFor(id));
      },
      async consume(id) {
        const payload = live(keyFor(id));
        if (payload) payload.consumed = Math.floor(now() / 1000);
      },
      async destroy(id) {
        const payload = live(keyFor(id));
        entries.delete(keyFor(id));
        if (typeof payload?.uid === 'string' && uidIndex.get(payload.uid) === id) uidIndex.delete(payload.uid);
        if (typeof payload?.userCode === 'string') userCodeIndex.delete(payload.userCode);
      },
      async revokeByGrantId(grantId) {
        for (const key of grantIndex.get(grantId) ?? []) entries.delete(key);
        grantIndex.delete(grantId);
      },
    };
  };
}
