/**
 * The Inference construct (lib/workload/shared/inference.ts): the image it runs, the container
 * environment, the pull rights, and what SageMaker refuses or cannot start. The container contract
 * itself, run through an emulation of the container, is test/models/container-contract.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { EnvironmentConfig } from '../../../lib/config';
import { statefulPolicy } from '../../../lib/workload/shared/env-policy';
import {
  CONTAINER_ENVIRONMENT,
  ENTRY_POINT,
  Inference,
  INFERENCE_CONTAINER_DIR,
} from '../../../lib/workload/shared/inference';
import { inferenceBaseImage } from '../../../lib/workload/shared/inference-image';
import { testApp, unacknowledgedFindings } from '../../fixtures/config';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const CONFIGURED = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/biomes-models:1.0`;

function inference(settings: Partial<EnvironmentConfig['inference']> = {}) {
  const stack = new Stack(testApp(), 'Shared', { env: { account: ACCOUNT, region: REGION } });
  const construct = new Inference(stack, 'Inference', {
    envName: 'dev',
    settings: { instanceType: 'ml.m5.large', initialInstanceCount: 1, ...settings },
    endpointName: 'biomes-dev-models',
    policy: statefulPolicy({ protected: false }),
    accessLogsBucket: new s3.Bucket(stack, 'AccessLogs'),
  });
  return { stack, construct, template: Template.fromStack(stack) };
}

function statementsOfRole(template: Template, roleLogicalId: string): Json[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Json>)
    .filter((p) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
}

const roleId = (stack: Stack, construct: Inference) =>
  stack.getLogicalId(construct.executionRole.node.defaultChild as never);

describe('the default image', () => {
  const { stack, construct, template } = inference();

  test('is a Docker image asset built from inference-container/, FROM the regional scikit-learn image, for amd64', () => {
    expect(construct.imageAsset).toBeDefined();
    const assembly = (stack.node.root as unknown as { synth(): { directory: string } }).synth();
    const manifest = JSON.parse(
      fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'),
    ) as Json;
    const images = Object.values(manifest.dockerImages as Record<string, Json>);
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({
      dockerBuildArgs: { BASE: inferenceBaseImage(REGION, 'dev') },
      platform: 'linux/amd64',
    });
    // The bootstrap's container asset repository of this account, the tag the asset hash.
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({
        Image: {
          'Fn::Sub': Match.stringLikeRegexp(
            `^${ACCOUNT}\\.dkr\\.ecr\\.${REGION}\\.\\$\\{AWS::URLSuffix\\}/cdk-hnb659fds-container-assets-${ACCOUNT}-${REGION}:${construct.imageAsset!.assetHash}$`,
          ),
        },
      }),
    });
  });

  test('its build context is the Dockerfile and the global entry point only (.dockerignore)', () => {
    expect(fs.readFileSync(path.join(INFERENCE_CONTAINER_DIR, '.dockerignore'), 'utf8')).toMatch(
      /^\*\n!Dockerfile\n!inference\.py\n$/m,
    );
    expect(fs.existsSync(path.join(INFERENCE_CONTAINER_DIR, ENTRY_POINT))).toBe(true);
  });

  test('the Model keeps MultiModel mode, network isolation and the container environment', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({ Mode: 'MultiModel', Environment: CONTAINER_ENVIRONMENT }),
      EnableNetworkIsolation: true,
    });
    expect(CONTAINER_ENVIRONMENT).toEqual({
      SAGEMAKER_PROGRAM: 'inference.py',
      SAGEMAKER_CONTAINER_LOG_LEVEL: '20',
      SAGEMAKER_NUM_MODEL_WORKERS: '1',
    });
  });

  test("the execution role may pull from the asset's repository (and get an ECR token), nothing else of ECR", () => {
    const ecr = statementsOfRole(template, roleId(stack, construct)).filter((s) =>
      [s.Action].flat().some((a: string) => a.startsWith('ecr:')),
    );
    expect(ecr).toEqual([
      {
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/cdk-hnb659fds-container-assets-${ACCOUNT}-${REGION}`,
      },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    ]);
    expect(ecr).toHaveLength(2);
    expect(JSON.stringify(ecr)).not.toContain('PullConfiguredImage');
  });

  test('the Model is created after the role can pull (CreateModel checks the image and the role)', () => {
    const model = Object.values(template.findResources('AWS::SageMaker::Model'))[0] as Json;
    expect(model.DependsOn).toEqual(
      expect.arrayContaining([roleId(stack, construct), expect.stringMatching(/DefaultPolicy/)]),
    );
  });

  test('no unacknowledged finding', () => {
    expect(unacknowledgedFindings(construct)).toEqual([]);
  });
});

describe('a configured image (environments.<env>.inference.image)', () => {
  const { stack, construct, template } = inference({ image: CONFIGURED, instanceType: 'ml.g5.xlarge' });

  test('replaces the asset: nothing to build, the same container environment', () => {
    expect(construct.imageAsset).toBeUndefined();
    expect(construct.image).toBe(CONFIGURED);
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({ Image: CONFIGURED, Environment: CONTAINER_ENVIRONMENT }),
    });
  });

  test('the role may pull exactly its repository', () => {
    expect(statementsOfRole(template, roleId(stack, construct))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'PullConfiguredImage',
          Resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/biomes-models`,
        }),
      ]),
    );
  });
});

describe('instance types the default image cannot serve multi-model on fail synth, naming the key', () => {
  test.each([
    [
      'ml.g5.xlarge',
      /accelerated instance: multi-model endpoints host several models on GPUs only with the Triton/,
    ],
    ['ml.p3.2xlarge', /accelerated instance/],
    ['ml.inf2.xlarge', /accelerated instance/],
    ['ml.c7g.large', /Graviton \(arm64\) instance: the default scikit-learn 1\.2-1 image is amd64 only/],
    ['ml.m6gd.large', /Graviton/],
  ])('%s', (instanceType, why) => {
    expect(() => inference({ instanceType })).toThrow(why);
    expect(() => inference({ instanceType })).toThrow(
      /^biomes\.environments\.dev\.inference\.instanceType: /,
    );
  });

  test.each([['ml.m5.large'], ['ml.m5.xlarge'], ['ml.c5.2xlarge'], ['ml.m5d.large'], ['ml.t2.medium']])(
    '%s (an x86 CPU instance) is accepted',
    (instanceType) => {
      expect(() => inference({ instanceType })).not.toThrow();
    },
  );
});
