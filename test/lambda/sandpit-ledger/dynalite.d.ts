/** dynalite (a DynamoDB server in JavaScript, for tests) ships no types; the part the tests use. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Where LevelDB keeps the data; without it, in memory. */
    readonly path?: string;
    /** How long a table stays CREATING, DELETING or UPDATING (default 500 ms). */
    readonly createTableMs?: number;
    readonly deleteTableMs?: number;
    readonly updateTableMs?: number;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
