import { watch as watchDirectory } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface FileWatchOptions {
  readonly path: string;
  /** Editors write a file in several steps; wait this long after the last change. */
  readonly debounceMs: number;
  /** Call at the latest this long after the first change, however long changes go on. */
  readonly maxDelayMs: number;
  readonly onChange: () => void;
  readonly onError: (error: Error) => void;
}

// A ConfigMap or Secret volume holds name -> ..data/name and updates by renaming a new
// ..data_tmp link over ..data, so the file's own name sees no event then.
const CONFIGMAP_DATA_LINK = '..data';

/**
 * Calls `onChange` once a file has stopped changing. The folder is watched rather than the file
 * because editors and Kubernetes volumes replace a file by rename, which ends a watch on the file
 * itself. Only events naming the file or the ConfigMap link count: the folder may hold files that
 * change all the time, such as a session database's journal, and they must not postpone a reload.
 * Returns the function that stops watching.
 */
export function watchFile(options: FileWatchOptions): () => void {
  const { debounceMs, maxDelayMs } = options;
  const fileName = basename(resolve(options.path));
  let timer: NodeJS.Timeout | undefined;
  let deadline: number | undefined;
  // Linux may give no name (e.g. when the event queue overflowed): that could be the file.
  const isOurEvent = (name: string | null) => name === null || name === fileName || name === CONFIGMAP_DATA_LINK;
  const callWhenQuiet = () => {
    const now = performance.now();
    deadline ??= now + maxDelayMs;
    clearTimeout(timer);
    timer = setTimeout(() => {
      deadline = undefined;
      options.onChange();
    }, Math.min(debounceMs, deadline - now));
    timer.unref();
  };
  const watcher = watchDirectory(dirname(resolve(options.path)), { persistent: false }, (_event, name) => {
    if (isOurEvent(name)) callWhenQuiet();
  });
  watcher.on('error', options.onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
