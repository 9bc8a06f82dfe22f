/**
 * Which Git branch builds into which biome (docs/design.md "Names and grammar"): the release branch
 * feeds each environment's mainline biome; `sandpit/<biome>` feeds `<biome>` in dev. Pure, so the
 * CodeBuild script and the pipeline construct share it.
 */
import { biomeNameProblem } from '../../lambda/shared/grammar';

export const SANDPIT_BRANCH_PREFIX = 'sandpit/';
/** The push filter of the sandpit pipeline (CodePipeline glob). */
export const SANDPIT_BRANCH_GLOB = `${SANDPIT_BRANCH_PREFIX}*`;

export type BiomeFromBranch = { ok: true; biome: string } | { ok: false; reason: string };

/** The sandpit biome a branch builds into, or why the branch cannot be a sandpit. */
export function biomeFromBranch(branch: string): BiomeFromBranch {
  if (!branch.startsWith(SANDPIT_BRANCH_PREFIX)) {
    return {
      ok: false,
      reason: `branch "${branch}" is not a sandpit branch: sandpit branches are named ${SANDPIT_BRANCH_PREFIX}<biome> (for example ${SANDPIT_BRANCH_PREFIX}alice)`,
    };
  }
  const biome = branch.slice(SANDPIT_BRANCH_PREFIX.length);
  // Sandpits never take a reserved name, `main` included: only the release branch feeds `main`.
  const problem = biomeNameProblem(biome);
  if (problem) {
    return {
      ok: false,
      reason: `branch "${branch}" does not name a valid sandpit biome: ${problem}. Rename the branch (git branch -m ${SANDPIT_BRANCH_PREFIX}<valid-name>) and push again`,
    };
  }
  return { ok: true, biome };
}
