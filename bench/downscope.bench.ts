// Micro-benchmark of the token route's downscoping step alone (no HTTP): what a token request
// pays for `scopeFor` with no parameters, with a one-realm request answered from memory, and with
// one computed afresh. Run: node --import tsx bench/downscope.bench.ts
import { createScopeResolver, type Granted } from '../server/tokens/scope-for-request.ts';

// Frozen like the grants policy-permissions.ts hands out, which is what lets the resolver remember.
const grant: Granted = Object.freeze({
  per: {
    '*': { 'status/*': 'R' },
    london: { 'deliveries/*': 'CRUD', 'deliveries/alice/*': 'RU', 'riders/*': 'RU', 'riders/alice': 'CRUD' },
  },
  dpv: { london: ['riders/alice'] },
});
const perQuery = `per=${encodeURIComponent('{"london":{"riders/*":"R","deliveries/42":"RU"}}')}`;

function measure(name: string, iterations: number, run: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(iterations, 10_000); i += 1) run(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) run(i);
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${name.padEnd(48)} ${ns.toFixed(0).padStart(7)} ns per token request`);
}

const resolver = createScopeResolver();
measure('no parameters', 2_000_000, () => resolver(grant, ''));
measure('?realm=london, remembered', 2_000_000, () => resolver(grant, 'realm=london'));
measure('?per=… (2 entries), remembered', 2_000_000, () => resolver(grant, perQuery));
// A thawed copy is never remembered, so every call parses and intersects.
const thawed: Granted = { per: { ...grant.per }, dpv: { ...grant.dpv } };
measure('?realm=london, computed each time', 200_000, () => resolver(thawed, 'realm=london'));
measure('?per=… (2 entries), computed each time', 200_000, () => resolver(thawed, perQuery));
