import { LRUCache } from 'lru-cache';

/**
 * A least-recently-used cache of at most `maxEntries` entries that grows as it is used. lru-cache's
 * `max` allocates room for every entry when the cache is made (about 160 KB for 10 000, for the
 * life of the process, even while the cache stays empty, and every live KB raises the heap V8 lets
 * grow under load several-fold); bounding by `maxSize` with entries of size 1 keeps the same bound
 * without it.
 */
export function boundedCache<K extends {}, V extends {}>(maxEntries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: maxEntries, sizeCalculation: () => 1 });
}
