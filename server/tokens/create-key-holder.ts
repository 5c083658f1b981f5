import type { HivekitKey, SecretFileResult } from '../config/hivekit-secret-file.ts';
import { watchFile } from '../files/watch-file.ts';
import type { Logger } from '../logging/logger.ts';
import type { HivekitKeySource } from './create-token-signer.ts';

export interface KeyHolderOptions {
  readonly path: string;
  /** The key loadConfig read from the file at start. */
  readonly initial: HivekitKey;
  /** Reads and checks the file (config/hivekit-secret-file.ts), with the checks of the start. */
  readonly read: () => SecretFileResult;
  readonly logger: Logger;
  /** Re-read the file when its folder changes (default true). */
  readonly watch?: boolean;
  /** Wait this long after the last change (default 200). */
  readonly debounceMs?: number;
  /** Re-read at the latest this long after the first change (default 1000). */
  readonly maxDelayMs?: number;
}

export interface KeyHolder extends HivekitKeySource {
  /** Re-reads the file; false (old key kept, reason logged) when it is unreadable or invalid. */
  reload(): boolean;
  close(): void;
}

/**
 * Keeps the Hivekit key of HIVEKIT_SECRET_FILE current: re-read on change (its folder watched, as the
 * policy's is) and on reload(). A bad file keeps the key in force and logs why (never the secret);
 * unchanged contents are ignored. Log lines carry kids, which Hivekit lists openly; never secrets.
 */
export function createKeyHolder(options: KeyHolderOptions): KeyHolder {
  const { path, logger, watch = true, debounceMs = 200, maxDelayMs = 1000 } = options;
  let key = options.initial;
  let currentText: string | null = null;
  let rejectedText: string | null = null;
  let closed = false;

  const load = (quietIfSameRejection: boolean): boolean => {
    if (closed) return false;
    const next = options.read();
    if (!next.ok) {
      if (!(quietIfSameRejection && next.text !== null && next.text === rejectedText)) {
        logger.warn('hivekit_secret_reload_rejected', { path, kid: key.kid, problems: next.problems });
      }
      rejectedText = next.text;
      return false;
    }
    rejectedText = null;
    if (next.text === currentText || (next.key.kid === key.kid && next.key.secret.equals(key.secret))) {
      currentText = next.text;
      return true;
    }
    const previousKid = key.kid;
    key = next.key;
    currentText = next.text;
    logger.info('hivekit_secret_rotated', { path, kid: key.kid, previousKid });
    if (previousKid === key.kid) {
      logger.warn('hivekit_secret_kid_reused', { path, kid: key.kid, hint: 'a new secret needs a new kid: Hivekit finds the secret by kid, so tokens signed with the new secret fail until its list has the new one' });
    }
    return true;
  };

  const stopWatching = watch
    ? watchFile({
      path, debounceMs, maxDelayMs,
      onChange: () => { load(true); },
      onError: (error) => logger.warn('hivekit_secret_watch_failed', { path, error: error.message }),
    })
    : undefined;
  logger.info('hivekit_secret_loaded', { path, kid: key.kid, watching: watch });

  return {
    current: () => key,
    reload: () => load(false),
    close: () => {
      closed = true;
      stopWatching?.();
    },
  };
}
