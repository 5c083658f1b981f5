import { createInterface } from 'node:readline';
import { ensureDevSecrets } from '../../server/dev/dev-secrets.ts';

/**
 * One of the processes that test/unit/dev-secrets.test.ts races against another: says `ready`
 * once loaded, then for each data folder it reads on stdin ensures the dev secrets there and
 * answers what it got (or the error) as one JSON line.
 */
process.stdout.write('ready\n');
for await (const dataDir of createInterface({ input: process.stdin })) {
  const outcome = await ensureDevSecrets(dataDir).then((secrets) => ({ secrets }), (error: Error) => ({ error: error.message }));
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}
