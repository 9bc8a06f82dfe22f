/**
 * Composes the Biomes app from a validated config: which stacks, in which account, for which
 * selection. `bin/app.ts` calls it with context; tests call it with a config of their own.
 */
import { App, type Stack, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TAGS } from '../lambda/shared/contracts';
import { ENV_NAMES, MAINLINE_BIOME } from '../lambda/shared/grammar';
import { LambdaBundles } from './bundling/bundler';
import { type BiomesConfig, type EnvName, type Selection } from './config';
import { DevopsStack } from './devops/devops-stack';
import { biomeStackName, devopsStackName, sharedStackName } from './naming';
import { BiomeStack } from './workload/biome/biome-stack';
import { SharedStack } from './workload/shared/shared-stack';

export interface BuiltApp {
  readonly devops?: DevopsStack;
  readonly shared: Partial<Record<EnvName, SharedStack>>;
  readonly biomes: BiomeStack[];
  readonly stacks: Stack[];
}

/** Registers the app-wide checks: cdk-nag AwsSolutions as a validation plugin (v3). */
export function addChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** Adds the stacks of `selection` to `app`. With `-c biome`, only that biome's stack (and its bundles). */
export function buildApp(app: App, config: BiomesConfig, selection: Selection): BuiltApp {
  const bundles = LambdaBundles.instance();
  const envOf = (env: EnvName | 'devops') => ({ account: config.accounts[env], region: config.region });
  const built: BuiltApp = { shared: {}, biomes: [], stacks: [] };
  Tags.of(app).add(TAGS.app, config.appName);

  const addBiome = (env: EnvName, biome: string) => {
    const name = biomeStackName(config, env, biome);
    const stack = new BiomeStack(app, name, {
      stackName: name,
      env: envOf(env),
      config,
      envName: env,
      biome,
      description: `Biomes: biome "${biome}" in ${env} (cheap, serverless, destroyed without a trace)`,
    });
    Tags.of(stack).add(TAGS.env, env);
    Tags.of(stack).add(TAGS.biome, biome);
    built.biomes.push(stack);
    built.stacks.push(stack);
  };

  if (selection.kind === 'biome') {
    bundles.prepare(BiomeStack.FUNCTIONS);
    addBiome(selection.env, selection.biome);
    return built;
  }

  // Whole app: one esbuild call for every function the stacks below use.
  bundles.prepare([...SharedStack.FUNCTIONS, ...BiomeStack.FUNCTIONS]);
  const devops = new DevopsStack(app, devopsStackName(config), {
    stackName: devopsStackName(config),
    env: envOf('devops'),
    config,
    description: 'Biomes: DevOps account (pipelines, build, release buckets)',
  });
  built.stacks.push(devops);
  for (const env of ENV_NAMES) {
    const name = sharedStackName(config, env);
    const shared = new SharedStack(app, name, {
      stackName: name,
      env: envOf(env),
      config,
      envName: env,
      terminationProtection: env === 'prod',
      description: `Biomes: shared resources of ${env} (landing bucket, deploy trigger, ledger, database, inference)`,
    });
    Tags.of(shared).add(TAGS.env, env);
    built.shared[env] = shared;
    built.stacks.push(shared);
  }
  // S3 refuses a replication rule whose destination bucket does not exist yet, so `cdk deploy --all`
  // must create every landing bucket (shared stacks) before the DevOps stack's release buckets.
  for (const env of ENV_NAMES) devops.addDependency(built.shared[env]!, 'landing bucket must exist first');
  for (const env of ENV_NAMES) addBiome(env, MAINLINE_BIOME);
  return { ...built, devops };
}
