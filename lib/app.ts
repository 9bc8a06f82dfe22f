/**
 * Composes the Biomes app from a validated config: which stacks, in which account, for which
 * selection. `bin/app.ts` calls it with context; tests call it with a config of their own.
 */
import { type App, CfnOutput, DefaultStackSynthesizer, type Stack, Tags, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SANDPIT_TAGS } from '../lambda/shared/sandpit';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { applyCompliance } from './common/compliance';
import { ControlTowerChecks } from './common/control-tower';
import { SERVICES, type ServiceRegistry } from '../lambda/services';
import { TAGS } from '../lambda/shared/contracts';
import { MAINLINE_BIOME } from '../lambda/shared/grammar';
import { BiomeScope, EnvScope } from '../lambda/shared/scope';
import { LambdaBundles } from './bundling/bundler';
import {
  type BiomesConfig,
  type EnvironmentConfig,
  environmentOf,
  type SandpitLifetime,
  type Selection,
} from './config';
import { DevopsStack } from './devops/devops-stack';
import {
  devopsStackName,
  SANDPIT_ASSET_PREFIX,
  sandpitDeployerRoleArn,
  sandpitExecutionRoleArn,
} from './naming';
import { BiomeStack } from './workload/biome/biome-stack';
import { discoverModels } from './workload/biome/models';
import { checkServiceRegistry } from './workload/biome/service-registry';
import { SharedStack } from './workload/shared/shared-stack';

export interface BuiltApp {
  readonly devops?: DevopsStack;
  /** Shared stack of each environment, by environment name. */
  readonly shared: Readonly<Record<string, SharedStack>>;
  readonly biomes: BiomeStack[];
  readonly stacks: Stack[];
}

export interface BuildOptions {
  /** The microservices of every biome. @default SERVICES of lambda/services.ts */
  readonly services?: ServiceRegistry;
  /** Where the functions are bundled from. @default the repository's (LambdaBundles.instance()) */
  readonly bundles?: LambdaBundles;
  /**
   * The commit the assembly is built from (`-c commit`, set by the release build): each stack records
   * it as the output `Commit`. An output, not a stack tag: CloudFormation copies stack tags onto every
   * taggable resource, so each release would update all of them and replace the immutable ones
   * (SageMaker models and endpoint configurations).
   * @default - no commit output
   */
  readonly commit?: string;
  /**
   * What a sandpit's CDK deploy puts live, for its ledger record: the commit (`-c commit`, else the
   * working tree's HEAD; undefined outside Git) and whether the tree had uncommitted changes.
   * @default - commit unknown, clean
   */
  readonly sandpitSource?: { readonly commit?: string; readonly dirty: boolean };
}

/** Output naming the commit a stack was deployed from (BuildOptions.commit). */
export const COMMIT_OUTPUT = 'Commit';

/**
 * Registers the app-wide checks, each fatal: cdk-nag's AwsSolutions and Serverless packs (v3
 * validation plugins) and AWS Control Tower's proactive controls (cfn-guard rules).
 */
export function addChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
    new ControlTowerChecks(),
  );
}

/** Adds the stacks of `selection` to `app`. With `-c biome`, only that biome's stack (and its bundles). */
export function buildApp(
  app: App,
  config: BiomesConfig,
  selection: Selection,
  options: BuildOptions = {},
): BuiltApp {
  const services = options.services ?? SERVICES;
  if (options.bundles) LambdaBundles.attach(app, options.bundles);
  const bundles = LambdaBundles.of(app);
  const region = config.region;
  // Every account is bootstrapped with the configured qualifier; the release pipeline assumes its roles.
  const synthesizer = () => new DefaultStackSynthesizer({ qualifier: config.bootstrapQualifier });
  const recordCommit = (stack: Stack) => {
    if (options.commit) {
      new CfnOutput(stack, COMMIT_OUTPUT, {
        value: options.commit,
        description: 'The commit this stack was deployed from',
      });
    }
  };
  const shared: Record<string, SharedStack> = {};
  const built = { shared, biomes: [] as BiomeStack[], stacks: [] as Stack[] };
  Tags.of(app).add(TAGS.app, config.appName);
  applyCompliance(app);
  // The repository's models, read once: the registry check, the bundle list and every biome stack.
  const models = discoverModels();

  const addBiome = (envName: string, biome: string, lifetime?: SandpitLifetime) => {
    const environment = environmentOf(config, envName);
    const name = new BiomeScope(config.appName, envName, biome).stackName;
    const stack = new BiomeStack(app, name, {
      stackName: name,
      env: { account: environment.account, region },
      // A sandpit deploys through its environment's sandpit deployer, never the admin bootstrap roles.
      synthesizer: lifetime ? sandpitSynthesizer(config, environment) : synthesizer(),
      config,
      envName,
      biome,
      services,
      models,
      ...(lifetime
        ? {
            sandpit: { ...lifetime, ...(options.sandpitSource ?? { dirty: false }) },
            // Stack tags (explicit: cdk.json's @aws-cdk/core:explicitStackTags): the sweeper finds
            // sandpits and their owner and lifetime by them; a number of days, never a date, so the
            // template stays the same from synth to synth.
            tags: {
              [TAGS.app]: config.appName,
              [TAGS.env]: envName,
              [TAGS.biome]: biome,
              [SANDPIT_TAGS.owner]: lifetime.owner,
              [SANDPIT_TAGS.ttlDays]: String(lifetime.ttlDays),
              [SANDPIT_TAGS.keep]: String(lifetime.keep),
            },
          }
        : {}),
      description: `Biomes: biome "${biome}" in ${envName} (cheap, serverless, destroyed without a trace)`,
    });
    Tags.of(stack).add(TAGS.env, envName);
    Tags.of(stack).add(TAGS.biome, biome);
    if (lifetime) {
      // Every role of the stack is capped to the sandpit domain; the execution role refuses any other.
      iam.PermissionsBoundary.of(stack).apply(
        iam.ManagedPolicy.fromManagedPolicyName(
          stack,
          'SandpitBoundary',
          new EnvScope(config.appName, envName).sandpitBoundaryName,
        ),
      );
    }
    recordCommit(stack);
    built.biomes.push(stack);
    built.stacks.push(stack);
  };

  // A bad registry entry fails here, naming SERVICES.<name> and the rule, before esbuild would look
  // for its handler (and fail with a bundler error instead).
  checkServiceRegistry(services, { lambdaRoot: bundles.lambdaRoot, models });

  if (selection.kind === 'biome') {
    bundles.prepare(BiomeStack.functions(services, models));
    addBiome(selection.env, selection.biome, selection.sandpit);
    return built;
  }

  // Whole app: one esbuild call for every function the stacks below use.
  bundles.prepare([...SharedStack.FUNCTIONS, ...BiomeStack.functions(services, models)]);
  const devops = new DevopsStack(app, devopsStackName(config), {
    stackName: devopsStackName(config),
    env: { account: config.devopsAccount, region },
    synthesizer: synthesizer(),
    config,
    description: 'Biomes: DevOps account (pipelines, build, release buckets)',
  });
  recordCommit(devops);
  built.stacks.push(devops);
  for (const environment of config.environments) {
    const name = new EnvScope(config.appName, environment.name).sharedStackName;
    const stack = new SharedStack(app, name, {
      stackName: name,
      env: { account: environment.account, region },
      synthesizer: synthesizer(),
      config,
      envName: environment.name,
      description: `Biomes: shared resources of ${environment.name} (landing bucket, deploy trigger, ledger, database, inference)`,
    });
    Tags.of(stack).add(TAGS.env, environment.name);
    recordCommit(stack);
    shared[environment.name] = stack;
    built.stacks.push(stack);
    // S3 refuses a replication rule whose destination bucket does not exist yet, so `cdk deploy --all`
    // must create every landing bucket (shared stacks) before the DevOps stack's release buckets.
    devops.addStackDependency(stack, 'landing bucket must exist first');
  }
  for (const environment of config.environments) addBiome(environment.name, MAINLINE_BIOME);
  // A mainline stack reads its shared stack's parameters (and biome database provider) at deploy, so
  // every deploy of both (the release's Infrastructure step, `cdk deploy --all`) updates shared first.
  for (const biome of built.biomes) {
    const sharedStack = shared[biome.names.env];
    if (sharedStack) biome.addStackDependency(sharedStack, 'reads the shared parameters at deploy');
  }
  return { ...built, devops };
}

/**
 * The synthesizer of a sandpit stack: the CDK CLI assumes the environment's sandpit deployer (as its
 * deploy, asset-publishing and lookup role) and passes the sandpit execution role to CloudFormation,
 * both from the shared stack (lib/workload/shared/sandpit-deployer.ts); the assets go to the bootstrap
 * bucket under `sandpit/`, the only prefix the deployer may write, so a sandpit can never plant an
 * object a mainline deploy would pick up.
 */
export function sandpitSynthesizer(
  config: BiomesConfig,
  environment: EnvironmentConfig,
): DefaultStackSynthesizer {
  const deployer = sandpitDeployerRoleArn(config, environment);
  return new DefaultStackSynthesizer({
    qualifier: config.bootstrapQualifier,
    deployRoleArn: deployer,
    fileAssetPublishingRoleArn: deployer,
    imageAssetPublishingRoleArn: deployer,
    lookupRoleArn: deployer,
    cloudFormationExecutionRole: sandpitExecutionRoleArn(config, environment),
    bucketPrefix: SANDPIT_ASSET_PREFIX,
  });
}
