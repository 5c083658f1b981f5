// @ts-check
/**
 * Pure helpers that turn a Hivekit access token into what the demo page shows. Display only:
 * nothing here verifies the signature, which only Hivekit (holding the secret) can do.
 */

/** @typedef {{ header: Record<string, unknown>, claims: Record<string, unknown> }} DecodedToken */
/** @typedef {{ realm: string, pattern: string, letters: string, granted: string[], unknown: string[] }} PermissionRow */
/** @typedef {{ realm: string, objectIds: string[] }} DataProviderRow */

/** Hivekit's permission letters, in the order people read them. */
const PERMISSION_NAMES = /** @type {const} */ ([
  ['C', 'Create'],
  ['R', 'Read'],
  ['U', 'Update'],
  ['D', 'Delete'],
]);

/** @param {string} token @returns {DecodedToken | null} */
export function decodeJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = decodeSegment(parts[0] ?? '');
    const claims = decodeSegment(parts[1] ?? '');
    if (!isRecord(header) || !isRecord(claims)) return null;
    return { header, claims };
  } catch {
    return null;
  }
}

/** RFC 7515 §2: base64url without padding, over UTF-8 JSON. @param {string} segment */
function decodeSegment(segment) {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}

/**
 * One row per realm and id pattern, letters spelt out. Letters Hivekit does not define are kept
 * apart rather than dropped, so the page never shows less than the token grants.
 * @param {unknown} per @returns {PermissionRow[]}
 */
export function describePermissions(per) {
  if (!isRecord(per)) return [];
  /** @type {PermissionRow[]} */
  const rows = [];
  for (const [realm, patterns] of Object.entries(per)) {
    if (!isRecord(patterns)) continue;
    for (const [pattern, value] of Object.entries(patterns)) {
      const letters = typeof value === 'string' ? value : '';
      const granted = PERMISSION_NAMES.filter(([letter]) => letters.includes(letter)).map(([, name]) => name);
      const unknown = [...new Set(letters.replace(/[CRUD]/g, ''))];
      rows.push({ realm, pattern, letters, granted, unknown });
    }
  }
  return rows;
}

/** @param {unknown} dpv @returns {DataProviderRow[]} */
export function describeDataProviders(dpv) {
  if (!isRecord(dpv)) return [];
  return Object.entries(dpv).map(([realm, ids]) => ({
    realm,
    objectIds: Array.isArray(ids) ? ids.map(String) : [],
  }));
}

/** @param {string} realm */
export function realmLabel(realm) {
  return realm === '*' ? 'All realms (*)' : realm;
}

/** "14:59", or "1:02:03" past an hour. @param {number} ms */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
