#!/usr/bin/env node
/**
 * The only place that reads context: builds the validated config, then the app. A bad value fails
 * here with the key and the rule, before any construct is made.
 */
import { App } from 'aws-cdk-lib';
import { addChecks, buildApp } from '../lib/app';
import { ConfigError, configFromContext } from '../lib/config';

const app = new App();
try {
  const { config, selection, commit } = configFromContext((key) => app.node.tryGetContext(key));
  buildApp(app, config, selection, commit ? { commit } : {});
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
addChecks(app);
app.synth();
