/**
 * The configuration the repository's own CLIs act on (`npm run wake`, `npm run rollback`): the
 * `biomes` context of cdk.json, parsed by the same rules as a synth (lib/config.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BiomesConfig, CONFIG_CONTEXT_KEY, parseConfig } from '../lib/config';
import { REPO_ROOT } from '../lib/repo';

export function cdkJsonConfig(root: string = REPO_ROOT): BiomesConfig {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return parseConfig(cdkJson.context[CONFIG_CONTEXT_KEY]);
}
