import { watchFile } from '../files/watch-file.ts';
import type { Logger } from '../logging/logger.ts';
import { formatPolicyProblem, loadPolicyFile } from './load-policy-file.ts';
import type { CompiledPolicy, PolicyProblem } from './policy-types.ts';

export interface PolicyHolderOptions {
  readonly path: string;
  readonly logger: Logger;
  /** Re-read the file when its directory changes (default true). */
  readonly watch?: boolean;
  /** Editors write a file in several steps; wait this long after the last change (default 200). */
  readonly debounceMs?: number;
  /** Re-read at the latest this long after the first change, however long changes go on (default 1000). */
  readonly maxDelayMs?: number;
  /** Told of each reload that changed something: applied (true) or rejected, old policy kept (false). */
  readonly onReload?: (applied: boolean) => void;
}

export interface PolicyHolder {
  /** The policy in force; its `version` grows by one on each successful reload. */
  current(): CompiledPolicy;
  /** Re-reads the file; false (old policy kept, reason logged) when it is unreadable or invalid. */
  reload(): Promise<boolean>;
  close(): void;
}

export class PolicyLoadError extends Error {
  readonly problems: readonly PolicyProblem[];
  constructor(path: string, problems: readonly PolicyProblem[]) {
    super(`Permissions policy ${path} is invalid:\n${problems.map((p) => `  ${formatPolicyProblem(p)}`).join('\n')}`);
    this.name = 'PolicyLoadError';
    this.problems = problems;
  }
}

/**
 * Loads the policy (throwing PolicyLoadError listing every problem, so startup fails closed) and keeps
 * it current (files/watch-file.ts: its folder is watched, so editors' and ConfigMaps' renames are
 * seen); unchanged content is ignored.
 */
export async function createPolicyHolder(options: PolicyHolderOptions): Promise<PolicyHolder> {
  const { path, logger, watch = true, debounceMs = 200, maxDelayMs = 1000 } = options;
  const first = await loadPolicyFile(path);
  if (!first.ok) throw new PolicyLoadError(path, first.problems);
  let policy = first.policy;
  let currentText = first.text;
  let rejectedText: string | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let stopWatching: (() => void) | undefined;
  let closed = false;
  logger.info('policy_loaded', { path, version: policy.version, rules: policy.rules.length, warnings: first.warnings });

  const load = async (quietIfSameRejection: boolean): Promise<boolean> => {
    if (closed) return false;
    const next = await loadPolicyFile(path, policy.version + 1);
    if (next.text !== null && next.text === currentText) return true;
    if (!next.ok) {
      if (!(quietIfSameRejection && next.text !== null && next.text === rejectedText)) {
        logger.warn('policy_reload_rejected', { path, version: policy.version, problems: next.problems });
      }
      rejectedText = next.text;
      options.onReload?.(false);
      return false;
    }
    if (closed) return false;
    policy = next.policy;
    currentText = next.text;
    rejectedText = null;
    logger.info('policy_reloaded', { path, version: policy.version, rules: policy.rules.length, warnings: next.warnings });
    options.onReload?.(true);
    return true;
  };
  // One reload at a time, so a slow read can never install an older file over a newer one.
  const enqueue = (quietIfSameRejection: boolean): Promise<boolean> => {
    const run = queue.then(() => load(quietIfSameRejection));
    queue = run.catch(() => undefined);
    return run;
  };

  if (watch) {
    stopWatching = watchFile({
      path, debounceMs, maxDelayMs,
      onChange: () => void enqueue(true),
      onError: (error) => logger.warn('policy_watch_failed', { path, error: error.message }),
    });
  }

  return {
    current: () => policy,
    reload: () => enqueue(false),
    close: () => {
      closed = true;
      stopWatching?.();
    },
  };
}
