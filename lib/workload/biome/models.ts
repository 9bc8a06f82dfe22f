/**
 * The models a biome serves: the folders under `models/` of the repository (each is packaged as
 * `<name>-<sha>.tar.gz`). Discovered once at synth, so adding a model is adding a folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { artifactNameProblem } from '../../../lambda/shared/grammar';
import { REPO_ROOT } from '../../repo';

export const MODELS_ROOT = path.join(REPO_ROOT, 'models');

/** Folder names under `root`; a folder whose name breaks the artifact grammar fails synth. */
export function discoverModels(root: string = MODELS_ROOT): string[] {
  if (!fs.existsSync(root)) return [];
  const names = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  for (const name of names) {
    const problem = artifactNameProblem(name);
    if (problem)
      throw new Error(
        `models/${name}/: ${problem}; rename the folder (it becomes the model's artifact name).`,
      );
  }
  return names;
}
