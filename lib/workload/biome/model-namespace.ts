import { Arn, CustomResource, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { PROPERTY, RESOURCE_TYPE } from '../../../lambda/biome-models/properties';
import { MODEL_POINTER_NONE, type ModelRegistration, TAGS } from '../../../lambda/shared/contracts';
import { isProtectedBiome } from '../../../lambda/shared/environments';
import { artifactNameProblem } from '../../../lambda/shared/grammar';
import type { BiomeScope } from '../../../lambda/shared/scope';
import { acknowledgePolicyWildcards } from '../../common/nag';
import { OnEventProvider } from '../../common/on-event-provider';
import { type LogSettings } from '../../common/logs';

export interface ModelNamespaceProps {
  /** App, environment and biome: the pointers, registrations and model prefix are the biome's own. */
  readonly names: BiomeScope;
  /** Whether the environment is protected: then `main`'s models are never deleted. */
  readonly protected: boolean;
  /** How long the cleanup's logs are kept. */
  /** How its log groups are kept and encrypted. */
  readonly logs: LogSettings;
  /**
   * Name of the model location bucket (from the shared stack's SSM parameter). A function is called
   * only when the namespace needs it (a protected `main` has no cleanup, so reads nothing it does not use).
   */
  readonly modelBucketName: string | (() => string);
  /** Key prefix of the model location, ending in `/` (from the shared stack's SSM parameter); as above. */
  readonly modelPrefix: string | (() => string);
  /** Models this biome serves (each has `models/<name>/` in the repository). */
  readonly models: readonly string[];
  /**
   * Per model, its bake after the pointer moves (lambda/shared/contracts.ts ModelRegistration.bake):
   * `main` of an environment with a canary. @default - no bake
   */
  readonly bake?: Readonly<Record<string, NonNullable<ModelRegistration['bake']>>>;
}

/**
 * The biome's namespace on the shared multi-model endpoint: one pointer (the live TargetModel,
 * `none` at first) and one registration per model for the deploy trigger, and a cleanup that
 * deletes the biome's model objects when the stack is deleted (never for a protected environment's `main`).
 */
export class ModelNamespace extends Construct {
  /** Key prefix of this biome's models, `<modelPrefix><biome>/`; undefined where models are kept (a protected `main`). */
  readonly biomePrefix?: string;
  private readonly pointers = new Map<string, ssm.StringParameter>();
  private readonly registrations: ssm.StringParameter[] = [];

  constructor(scope: Construct, id: string, props: ModelNamespaceProps) {
    super(scope, id);
    const names = props.names;
    const { biome } = names;
    for (const model of props.models) {
      const problem = artifactNameProblem(model);
      if (problem) throw new Error(`ModelNamespace: model ${problem}.`);
    }
    if (new Set(props.models).size !== props.models.length) {
      throw new Error(`ModelNamespace: models must be unique (got ${props.models.join(', ')}).`);
    }
    for (const model of props.models) {
      const pointerName = names.modelPointer(model);
      // Contract names (lambda/shared/scope.ts): the deploy trigger finds them by biome and model.
      // The deploy trigger owns the value after creation; CloudFormation writes it again only if a
      // property here changes, which would reset the pointer to `none`: keep these properties stable.
      const pointer = new ssm.StringParameter(this, `Pointer-${model}`, {
        parameterName: pointerName,
        stringValue: MODEL_POINTER_NONE,
        description: `Biomes: live TargetModel of model ${model} in biome ${biome} (moved by the deploy trigger)`,
      });
      // The deploy trigger may overwrite only parameters tagged this way (and of its app and env).
      Tags.of(pointer).add(TAGS.modelPointer, 'true');
      this.pointers.set(model, pointer);
      // No warm-up to register: the deploy trigger validates every model with the rows its archive
      // carries (lambda/shared/model-archive.ts) before it moves the pointer.
      const bake = props.bake?.[model];
      const registration: ModelRegistration = { pointerParameter: pointerName, ...(bake ? { bake } : {}) };
      this.registrations.push(
        new ssm.StringParameter(this, `Registration-${model}`, {
          parameterName: names.modelRegistration(model),
          stringValue: JSON.stringify(registration),
          description: `Biomes: registration of model ${model} in biome ${biome} for the deploy trigger`,
        }),
      );
    }

    // A protected environment's mainline models are never deleted by a stack operation.
    if (isProtectedBiome(props, biome)) return;
    const resolve = (v: string | (() => string)) => (typeof v === 'function' ? v() : v);
    const modelBucketName = resolve(props.modelBucketName);
    const modelPrefix = resolve(props.modelPrefix);
    const biomePrefix = names.modelPrefix(modelPrefix);
    this.biomePrefix = biomePrefix;

    const provider = new OnEventProvider(this, 'Cleanup', {
      functionFolder: 'biome-models',
      description: `Biomes: deletes the model objects of biome ${biome} when its stack is deleted`,
      logs: props.logs,
    });
    const bucketArn = Arn.format(
      { service: 's3', region: '', account: '', resource: modelBucketName },
      Stack.of(this),
    );
    provider.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket', 's3:ListBucketVersions'],
        resources: [bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${biomePrefix}*`] } },
      }),
    );
    provider.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        resources: [`${bucketArn}/${biomePrefix}*`],
      }),
    );
    acknowledgePolicyWildcards(
      provider.role,
      "Deleting every object of a biome needs a key wildcard; it is confined to the biome's own prefix of the model location.",
    );
    const cleanup = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: {
        [PROPERTY.bucket]: modelBucketName,
        [PROPERTY.modelPrefix]: modelPrefix,
        [PROPERTY.env]: names.env,
        [PROPERTY.biome]: biome,
        [PROPERTY.protected]: String(props.protected),
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Delete registrations and pointers before the cleanup runs: once they are gone the deploy trigger
    // rejects this biome's models, so no object can land under the prefix after it was emptied.
    for (const p of [...this.registrations, ...this.pointers.values()]) p.node.addDependency(cleanup);
  }

  /** The models this biome serves. */
  get models(): string[] {
    return [...this.pointers.keys()];
  }

  /** The pointer of `model`: its value is the live TargetModel (relative to the model prefix) or `none`. */
  pointerParameter(model: string): ssm.IStringParameter {
    const pointer = this.pointers.get(model);
    if (!pointer) {
      throw new Error(
        `ModelNamespace: no model "${model}" in this biome (models: ${this.models.join(', ') || 'none'}).`,
      );
    }
    return pointer;
  }

  /** Lets `grantee` read every model pointer of this biome (and nothing else). */
  grantReadPointers(grantee: iam.IGrantable): void {
    for (const model of this.pointers.keys()) this.grantReadPointer(model, grantee);
  }

  /** Lets `grantee` read the pointer of `model` ({@link grantPointerReads}). */
  grantReadPointer(model: string, grantee: iam.IGrantable): void {
    grantPointerReads(grantee, [this.pointerParameter(model)]);
  }
}

/**
 * Lets `grantee` read model pointers: `ssm:GetParameter` on them, which is all their readers call
 * (CDK's `grantRead` adds DescribeParameters, which takes no resource, and GetParameterHistory).
 */
export function grantPointerReads(grantee: iam.IGrantable, pointers: readonly ssm.IStringParameter[]): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['ssm:GetParameter'],
    resourceArns: pointers.map((p) => p.parameterArn),
  });
}
