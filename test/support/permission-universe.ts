import { matchesId, type PatternReading } from '../../server/tokens/id-patterns.ts';

type Per = Record<string, Record<string, string>>;

/** Every id of 1..depth segments over `alphabet`: small enough to enumerate, deep enough for final `*`s. */
export function enumerateIds(alphabet: readonly string[], depth: number): string[] {
  let level: string[] = [...alphabet];
  const all = [...level];
  for (let d = 2; d <= depth; d += 1) {
    level = level.flatMap((prefix) => alphabet.map((segment) => `${prefix}/${segment}`));
    all.push(...level);
  }
  return all;
}

/** Does `per` let a token act with `letter` on `id` in `realm`, reading a final `*` as `reading` says? */
export function allows(per: Per, realm: string, id: string, letter: string, reading: PatternReading): boolean {
  for (const key of [realm, '*']) {
    if (!Object.hasOwn(per, key)) continue;
    for (const [pattern, letters] of Object.entries(per[key]!)) {
      if (letters.includes(letter) && matchesId(pattern, id, reading)) return true;
    }
  }
  return false;
}

/** The first (realm, id, letter) `narrow` allows and `wide` does not, under either reading; null if none. */
export function findWidening(narrow: Per, wide: Per, realms: readonly string[], ids: readonly string[]): string | null {
  for (const reading of ['subtree', 'segment'] as const) {
    for (const realm of realms) {
      for (const id of ids) {
        for (const letter of 'CRUD') {
          if (allows(narrow, realm, id, letter, reading) && !allows(wide, realm, id, letter, reading)) {
            return `${reading}: ${realm} ${id} ${letter}`;
          }
        }
      }
    }
  }
  return null;
}

/** A seeded generator (mulberry32), so a failing case can be replayed from its printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomPattern(random: () => number, alphabet: readonly string[], maxDepth: number): string {
  const depth = 1 + Math.floor(random() * maxDepth);
  const segments = Array.from({ length: depth }, () => (random() < 0.35 ? '*' : alphabet[Math.floor(random() * alphabet.length)]!));
  return segments.join('/');
}

export function randomLetters(random: () => number): string {
  const letters = [...'CRUD'].filter(() => random() < 0.5).join('');
  return letters === '' ? 'R' : letters;
}

export function randomPer(random: () => number, realms: readonly string[], alphabet: readonly string[], maxEntries: number): Per {
  const per: Per = {};
  const count = 1 + Math.floor(random() * maxEntries);
  for (let i = 0; i < count; i += 1) {
    const realm = realms[Math.floor(random() * realms.length)]!;
    (per[realm] ??= {})[randomPattern(random, alphabet, 3)] = randomLetters(random);
  }
  return per;
}
