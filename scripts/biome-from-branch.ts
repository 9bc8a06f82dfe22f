/**
 * `npx tsx scripts/biome-from-branch.ts <branch>`: prints the sandpit biome a branch builds into,
 * or explains on stderr why the branch is not a sandpit and exits 1. The sandpit pipeline's build
 * runs it first, so a badly named branch fails before anything is tested, packaged or published.
 */
import { biomeFromBranch } from '../lib/devops/branches';

const [branch, ...extra] = process.argv.slice(2);
if (branch === undefined || extra.length > 0) {
  console.error('usage: biome-from-branch <branch>   (for example: biome-from-branch sandpit/alice)');
  process.exit(2);
}
const result = biomeFromBranch(branch);
if (!result.ok) {
  console.error(`biome-from-branch: ${result.reason}`);
  process.exit(1);
}
console.log(result.biome);
