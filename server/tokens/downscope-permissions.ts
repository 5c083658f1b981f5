import { LETTERS_BY_MASK } from '../policy/compile-grants.ts';
import { setOwn, toPerClaim } from '../policy/evaluate-policy.ts';
import type { DpvClaim, PerClaim } from '../policy/policy-types.ts';
import { isPatternWithinEveryReading, matchesId, narrowPattern } from './id-patterns.ts';
import type { ScopeRequest } from './scope-request.ts';

/** Something asked for that the token does not carry in full. */
export interface DroppedScope {
  readonly realm: string;
  /** Absent when a whole requested realm had no grant. */
  readonly pattern?: string;
  /** The requested letters the token lacks on the whole pattern (C R U D order). */
  readonly letters?: string;
  /**
   * `realm_not_granted`: nothing is granted in that realm; `not_granted`: nothing of the pattern;
   * `narrowed`: only narrower patterns (they are in the token); `realm_not_requested`: `per` named a
   * realm outside the `realm` list.
   */
  readonly reason: 'realm_not_granted' | 'not_granted' | 'narrowed' | 'realm_not_requested';
}

export interface DownscopedPermissions {
  readonly per: PerClaim;
  readonly dpv: DpvClaim;
  readonly dropped: readonly DroppedScope[];
}

const ALL_LETTERS = 15;
const LETTER_BITS: Readonly<Record<string, number>> = { C: 1, R: 2, U: 4, D: 8 };

function maskOf(letters: string): number {
  let mask = 0;
  for (const letter of letters) mask |= LETTER_BITS[letter] ?? 0;
  return mask;
}

interface RequestedEntry {
  readonly realm: string;
  readonly pattern: string;
  readonly mask: number;
  /** From a bare `realm=` request: reported per realm, never as a pattern. */
  readonly wholeRealm: boolean;
}

function requestedEntries(request: ScopeRequest, dropped: DroppedScope[]): RequestedEntry[] {
  const realms = request.realms;
  if (request.per === null) {
    return (realms ?? ['*']).map((realm) => ({ realm, pattern: '*', mask: ALL_LETTERS, wholeRealm: true }));
  }
  const entries: RequestedEntry[] = [];
  for (const [realm, patterns] of Object.entries(request.per)) {
    for (const [pattern, letters] of Object.entries(patterns)) {
      const mask = maskOf(letters);
      if (realms === null) entries.push({ realm, pattern, mask, wholeRealm: false });
      else if (realm === '*') for (const listed of realms) entries.push({ realm: listed, pattern, mask, wholeRealm: false });
      else if (realms.includes(realm)) entries.push({ realm, pattern, mask, wholeRealm: false });
      else dropped.push({ realm, pattern, letters: LETTERS_BY_MASK[mask]!, reason: 'realm_not_requested' });
    }
  }
  return entries;
}


/**
 * The intersection of what a caller asks for with what the policy granted: never wider than
 * `granted`, whatever the request. A named realm takes the grants of that realm and of `*`; a
 * requested `*` realm meets each granted realm. Patterns are narrowed with `narrowPattern`, letters
 * intersected. `dpv` keeps the granted ids in the realms left that the narrowed `per` still
 * covers. Pure; `granted` is not modified.
 */
export function downscopePermissions(granted: { per: PerClaim; dpv: DpvClaim }, request: ScopeRequest): DownscopedPermissions {
  const dropped: DroppedScope[] = [];
  const out = new Map<string, Map<string, number>>();
  for (const entry of requestedEntries(request, dropped)) {
    let covered = 0;
    let produced = 0;
    for (const grantRealm of Object.keys(granted.per)) {
      const realm = resultRealm(entry.realm, grantRealm);
      if (realm === null) continue;
      const realmCovers = grantRealm === '*' || grantRealm === entry.realm;
      const patterns = granted.per[grantRealm]!;
      for (const grantPattern of Object.keys(patterns)) {
        const mask = entry.mask & maskOf(patterns[grantPattern]!);
        if (mask === 0) continue;
        const narrowed = narrowPattern(entry.pattern, grantPattern);
        if (narrowed === null) continue;
        let target = out.get(realm);
        if (target === undefined) out.set(realm, (target = new Map()));
        target.set(narrowed, (target.get(narrowed) ?? 0) | mask);
        produced |= mask;
        if (realmCovers && isPatternWithinEveryReading(entry.pattern, grantPattern)) covered |= mask;
      }
    }
    if (entry.wholeRealm) {
      if (produced === 0) dropped.push({ realm: entry.realm, reason: 'realm_not_granted' });
      continue;
    }
    const missing = entry.mask & ~covered;
    const narrowedLetters = missing & produced;
    const absent = missing & ~produced;
    if (narrowedLetters !== 0) dropped.push({ realm: entry.realm, pattern: entry.pattern, letters: LETTERS_BY_MASK[narrowedLetters]!, reason: 'narrowed' });
    if (absent !== 0) dropped.push({ realm: entry.realm, pattern: entry.pattern, letters: LETTERS_BY_MASK[absent]!, reason: 'not_granted' });
  }
  const per = toPerClaim(out);
  return { per, dpv: keepCoveredDpv(granted.dpv, per), dropped };
}

/** The realm a grant contributes to for a requested realm, or null when they do not meet. */
function resultRealm(requested: string, granted: string): string | null {
  if (requested === granted || granted === '*') return requested;
  if (requested === '*') return granted;
  return null;
}


// Being a realm's data provider for an object the token may no longer touch means nothing to Hivekit.
function keepCoveredDpv(dpv: DpvClaim, per: PerClaim): DpvClaim {
  const out: DpvClaim = {};
  for (const realm of Object.keys(dpv).sort()) {
    const patterns = [...ownKeys(per, realm), ...ownKeys(per, '*')];
    const kept = dpv[realm]!.filter((id) => patterns.some((p) => matchesId(p, id, 'subtree') && matchesId(p, id, 'segment')));
    if (kept.length > 0) setOwn(out, realm, kept);
  }
  return out;
}

function ownKeys(per: PerClaim, realm: string): string[] {
  return Object.hasOwn(per, realm) ? Object.keys(per[realm]!) : [];
}
