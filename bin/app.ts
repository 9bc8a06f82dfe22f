#!/usr/bin/env node
/**
 * The only place that reads context (and, for a sandpit, the Git working tree): builds the validated
 * config, then the app. A bad value fails here with the key and the rule, before any construct is made.
 */
import { App } from 'aws-cdk-lib';
import { addChecks, buildApp } from '../lib/app';
import { BIOME_CONTEXT_KEY, ConfigError, configFromContext } from '../lib/config';
import { readWorkingTree } from './working-tree';

const app = new App();
try {
  const sandpit = app.node.tryGetContext(BIOME_CONTEXT_KEY) !== undefined;
  const tree = sandpit ? readWorkingTree() : {};
  const { config, selection, commit } = configFromContext((key) => app.node.tryGetContext(key), tree);
  buildApp(app, config, selection, {
    ...(commit ? { commit } : {}),
    // What a sandpit's ledger record says was deployed: -c commit (the pipeline's clean checkout), else
    // the working tree's HEAD and whether it had uncommitted changes.
    ...(sandpit
      ? {
          sandpitSource: commit
            ? { commit, dirty: false }
            : { commit: tree.commit, dirty: tree.dirty ?? false },
        }
      : {}),
  });
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
addChecks(app);
app.synth();
