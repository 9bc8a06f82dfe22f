/** `import sql from './x.sql'`: esbuild's text loader (bundler.ts) turns a .sql file into its text. */
declare module '*.sql' {
  const text: string;
  export default text;
}
