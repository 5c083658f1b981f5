import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './child-process.ts';
import { table } from './markdown.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /** [name, milliseconds], largest first. */
  selfByModule: Array<[string, number]>;
  selfByFunction: Array<[string, number]>;
  inclusiveByFunction: Array<[string, number]>;
}

/**
 * Self time by module and by function, and inclusive time by function, from a V8 .cpuprofile
 * written by `node --cpu-prof`; idle time is left out of every share. With `startAtFunction`,
 * samples before the first one with that function on its stack (start-up) are left out too.
 */
export function summariseCpuProfile(path: string, startAtFunction?: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${where(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, micros: number) => map.set(key, (map.get(key) ?? 0) + micros);
  let busy = 0;
  let idle = 0;
  let started = startAtFunction === undefined;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const node = byId.get(id)!;
    if (!started) {
      for (let current: number | undefined = id; current !== undefined && !started; current = parent.get(current)) {
        started = byId.get(current)!.callFrame.functionName === startAtFunction;
      }
      if (!started) return;
    }
    if (node.callFrame.functionName === '(idle)') {
      idle += delta;
      return;
    }
    busy += delta;
    add(self, keyOf(node), delta);
    add(modules, moduleOf(node.callFrame.url, node.callFrame.functionName), delta);
    // Each function once per sample, however often it recurs in the stack.
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const key = keyOf(byId.get(current)!);
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusive, key, delta);
      }
    }
  });
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([key, micros]) => [key, micros / 1000] as [string, number]);
  return { busyMs: busy / 1000, idleMs: idle / 1000, selfByModule: sorted(modules), selfByFunction: sorted(self), inclusiveByFunction: sorted(inclusive) };
}

export function renderProfileTables(summary: ProfileSummary, top: number): string[] {
  const rows = (entries: Array<[string, number]>) => entries.slice(0, top)
    .map(([key, ms]) => [`\`${key.replaceAll('|', '\\|')}\``, `${ms.toFixed(0)} ms`, `${((ms / summary.busyMs) * 100).toFixed(1)} %`]);
  return [
    `Busy ${(summary.busyMs / 1000).toFixed(1)} s of the main thread, idle ${(summary.idleMs / 1000).toFixed(1)} s; shares are of busy time. Native frames (sockets, crypto, SQLite's driver) appear under the JavaScript function that called them; SQLite's own work runs on libuv's thread pool and is not in this profile.`, '',
    '**Self time by module**', '', table(['module', 'self', 'share'], rows(summary.selfByModule)), '',
    '**Self time by function**', '', table(['function', 'self', 'share'], rows(summary.selfByFunction)), '',
  ];
}

function where(url: string): string {
  if (!url) return '';
  return url.startsWith('file://') ? relative(PROJECT_ROOT, new URL(url).pathname) : url;
}

function moduleOf(url: string, name: string): string {
  const path = where(url);
  if (!path) return name.startsWith('(') ? name : '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dependency) return dependency[1]!;
  if (path.startsWith('node:')) return path.split('/')[0]!;
  return path;
}

// Usage: node --import tsx bench/summarise-cpu-profile.ts <file.cpuprofile> [top]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node --import tsx bench/summarise-cpu-profile.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const top = Number(topArg ?? 30);
  const summary = summariseCpuProfile(file);
  const inclusive = summary.inclusiveByFunction.slice(0, top)
    .map(([key, ms]) => [`\`${key.replaceAll('|', '\\|')}\``, `${ms.toFixed(0)} ms`, `${((ms / summary.busyMs) * 100).toFixed(1)} %`]);
  process.stdout.write(`${[...renderProfileTables(summary, top), '**Inclusive time by function**', '', table(['function', 'inclusive', 'share'], inclusive)].join('\n')}\n`);
}
