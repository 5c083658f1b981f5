import { watch as watchDirectory } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
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

// A ConfigMap volume holds policy.json -> ..data/policy.json and updates by renaming a new
// ..data_tmp link over ..data, so the policy file's own name sees no event then.
const CONFIGMAP_DATA_LINK = '..data';

/**
 * Loads the policy (throwing PolicyLoadError listing every problem, so startup fails closed) and keeps
 * it current. The directory is watched rather than the file because editors and Kubernetes ConfigMaps
 * replace the file by rename, which ends a watch on the file itself; unchanged content is ignored.
 * Only events naming the file or the ConfigMap link count: the folder may hold files that change all
 * the time, such as a session database's journal, and they must not postpone a revoked grant.
 */
export async function createPolicyHolder(options: PolicyHolderOptions): Promise<PolicyHolder> {
  const { path, logger, watch = true, debounceMs = 200, maxDelayMs = 1000 } = options;
  const first = await loadPolicyFile(path);
  if (!first.ok) throw new PolicyLoadError(path, first.problems);
  let policy = first.policy;
  let currentText = first.text;
  let rejectedText: string | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let deadline: number | undefined;
  let watcher: FSWatcher | undefined;
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

  const fileName = basename(resolve(path));
  // Linux may give no name (e.g. when the event queue overflowed): that could be the policy.
  const isPolicyEvent = (name: string | null) => name === null || name === fileName || name === CONFIGMAP_DATA_LINK;
  const reloadWhenQuiet = () => {
    const now = performance.now();
    deadline ??= now + maxDelayMs;
    clearTimeout(timer);
    timer = setTimeout(() => {
      deadline = undefined;
      void enqueue(true);
    }, Math.min(debounceMs, deadline - now));
    timer.unref();
  };

  if (watch) {
    watcher = watchDirectory(dirname(resolve(path)), { persistent: false }, (_event, name) => {
      if (isPolicyEvent(name)) reloadWhenQuiet();
    });
    watcher.on('error', (error) => logger.warn('policy_watch_failed', { path, error: error.message }));
  }

  return {
    current: () => policy,
    reload: () => enqueue(false),
    close: () => {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
