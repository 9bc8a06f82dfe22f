/* global module */
// Jest transform for `import sql from './x.sql'`: the module's default export is the file's text,
// as esbuild's text loader gives the bundle (lib/bundling/bundler.ts).
module.exports = {
  process(source) {
    return { code: `module.exports = ${JSON.stringify(source)};` };
  },
};
