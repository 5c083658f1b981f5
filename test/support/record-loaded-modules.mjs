// `node --import ./test/support/record-loaded-modules.mjs …`: appends the URL of every module the
// process loads to the file named by RECORD_LOADED_MODULES, one a line. Plain JavaScript on
// purpose: the process it observes runs without tsx.
import { register } from 'node:module';

const file = process.env.RECORD_LOADED_MODULES;
if (file) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    let file;
    export function initialize(data) { file = data.file; }
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      appendFileSync(file, result.url + '\\n');
      return result;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { file } });
}
