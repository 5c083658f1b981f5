/**
 * A Map that forgets its oldest entry once it holds `maxEntries`: for per-session memos on the token
 * route, where forgetting only costs a recomputation and an unbounded map would grow with every
 * session ever seen.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly maxEntries: number) {
    super();
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  override set(key: K, value: V): this {
    if (this.size >= this.maxEntries && !this.has(key)) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
