/**
 * What the Git working tree says, for a sandpit deploy: the author email (the sandpit's default owner),
 * the commit and whether the tree has uncommitted changes (the ledger's record of a CDK deploy). Read
 * here, next to bin/app.ts, because only bin/ reads the machine's state. Outside a Git tree (a build
 * from a source zip) everything is undefined and the caller decides what that means.
 */
import { execFileSync } from 'node:child_process';

export interface TreeFacts {
  readonly authorEmail?: string;
  readonly commit?: string;
  readonly dirty?: boolean;
}

function git(args: readonly string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function readWorkingTree(cwd: string = process.cwd()): TreeFacts {
  const email = git(['config', 'user.email'], cwd);
  const commit = git(['rev-parse', 'HEAD'], cwd);
  // Untracked files count: a new handler not yet added is code the deploy ships.
  const status = commit === undefined ? undefined : git(['status', '--porcelain'], cwd);
  return {
    ...(email ? { authorEmail: email } : {}),
    ...(commit && /^[0-9a-f]{40}$/.test(commit) ? { commit } : {}),
    ...(status === undefined ? {} : { dirty: status.length > 0 }),
  };
}
