import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { ModelNamespace } from '../../../lib/workload/biome/model-namespace';
import { placeOf as place, testApp, unacknowledgedFindings } from '../../fixtures/config';

function build(biome = 'alice', envName = 'dev', models = ['sample-model', 'other']) {
  const stack = new Stack(testApp(), 'Biome', { env: { account: '222222222222', region: 'eu-west-1' } });
  const ns = new ModelNamespace(stack, 'Models', {
    ...place(stack, biome, envName),
    modelBucketName: 'biomes-dev-models',
    modelPrefix: 'models/',
    models,
  });
  return { stack, ns };
}

describe('ModelNamespace', () => {
  const { stack, ns } = build();
  const reader = new iam.Role(stack, 'Reader', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  ns.grantReadPointers(reader);
  const template = Template.fromStack(stack);

  test('one pointer per model, starting at "none"', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/biomes/dev/alice/model-pointers/sample-model',
      Type: 'String',
      Value: 'none',
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/biomes/dev/alice/model-pointers/other',
      Value: 'none',
    });
    template.resourceCountIs('AWS::SSM::Parameter', 4);
  });

  test('registrations point at the pointers and hold nothing else (the archive carries its validation rows)', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/biomes/dev/alice/models/sample-model',
      Value: JSON.stringify({ pointerParameter: '/biomes/dev/alice/model-pointers/sample-model' }),
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/biomes/dev/alice/models/other',
      Value: JSON.stringify({ pointerParameter: '/biomes/dev/alice/model-pointers/other' }),
    });
  });

  test('the cleanup custom resource names bucket, prefix, env and biome', () => {
    template.resourceCountIs('Custom::BiomeModels', 1);
    template.hasResource('Custom::BiomeModels', {
      DeletionPolicy: 'Delete',
      Properties: { Bucket: 'biomes-dev-models', ModelPrefix: 'models/', Env: 'dev', Biome: 'alice' },
    });
    expect(ns.biomePrefix).toBe('models/alice/');
  });

  test("the cleanup may list and delete under the biome's prefix only", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ModelsCleanupOnEventRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['s3:ListBucket', 's3:ListBucketVersions'],
            Resource: 'arn:aws:s3:::biomes-dev-models',
            Condition: { StringLike: { 's3:prefix': ['models/alice/*'] } },
          },
          {
            Effect: 'Allow',
            Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
            Resource: 'arn:aws:s3:::biomes-dev-models/models/alice/*',
          },
        ]),
      },
    });
  });

  test('function and framework log to log groups with retention, destroyed with the stack', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.allResources('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Delete',
      Properties: { RetentionInDays: 14 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Architectures: ['arm64'],
      Runtime: 'nodejs22.x',
    });
  });

  test('grantReadPointers: read on the pointers, not on the registrations', () => {
    const policy = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Reader') }] },
      }),
    )[0] as { Properties: { PolicyDocument: { Statement: { Resource: unknown }[] } } };
    const resources = JSON.stringify(policy.Properties.PolicyDocument.Statement.map((s) => s.Resource));
    const pointerIds = Object.keys(
      template.findResources('AWS::SSM::Parameter', {
        Properties: { Name: Match.stringLikeRegexp('/model-pointers/') },
      }),
    );
    expect(pointerIds).toHaveLength(2);
    for (const id of pointerIds) expect(resources).toContain(`{"Ref":"${id}"}`);
    expect(resources).not.toContain('Registration');
  });

  test('pointerParameter gives the pointer, and names the models when asked for another', () => {
    expect(stack.resolve(ns.pointerParameter('other').parameterName)).toEqual(expect.anything());
    expect(() => ns.pointerParameter('nope')).toThrow(
      /no model "nope" in this biome \(models: sample-model, other\)/,
    );
  });

  test('no unacknowledged cdk-nag finding', () => {
    expect(unacknowledgedFindings(stack)).toEqual([]);
  });
});

test('prod main: pointers and registrations, but no cleanup at all', () => {
  const template = Template.fromStack(build('main', 'prod').stack);
  template.resourceCountIs('Custom::BiomeModels', 0);
  template.resourceCountIs('AWS::Lambda::Function', 0);
  template.hasResourceProperties('AWS::SSM::Parameter', {
    Name: '/biomes/prod/main/model-pointers/sample-model',
  });
});

test('two biomes share no parameter name or prefix', () => {
  const names = (biome: string) => {
    const { stack, ns } = build(biome);
    const params = Template.fromStack(stack).findResources('AWS::SSM::Parameter');
    return [
      ...Object.values(params).map((p) => (p as { Properties: { Name: string } }).Properties.Name),
      ns.biomePrefix,
    ];
  };
  const a = names('alice');
  const b = names('alice-b');
  expect(a.filter((n) => b.includes(n))).toEqual([]);
});

describe('bad input fails synth with what to fix', () => {
  test.each([
    ['a bad biome', () => build('Alice'), /biome "Alice" must match/],
    [
      'a bad model name',
      () => build('alice', 'dev', ['Bad_Model']),
      /ModelNamespace: model name "Bad_Model" must match/,
    ],
    ['a repeated model', () => build('alice', 'dev', ['a1', 'a1']), /models must be unique/],
  ])('%s', (_what, make, message) => {
    expect(make).toThrow(message);
  });
});

test('with shared-stack values read from SSM (tokens), the wildcard is still scoped and acknowledged', () => {
  const stack = new Stack(testApp(), 'Biome', { env: { account: '222222222222', region: 'eu-west-1' } });
  new ModelNamespace(stack, 'Models', {
    ...place(stack, 'alice', 'dev'),
    modelBucketName: ssm.StringParameter.valueForStringParameter(
      stack,
      '/biomes/dev/shared/inference/model-bucket-name',
    ),
    modelPrefix: ssm.StringParameter.valueForStringParameter(
      stack,
      '/biomes/dev/shared/inference/model-prefix',
    ),
    models: ['sample-model'],
  });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:aws:s3:::',
                { Ref: Match.stringLikeRegexp('^SsmParameterValue') },
                '/',
                { Ref: Match.stringLikeRegexp('^SsmParameterValue') },
                'alice/*',
              ],
            ],
          },
        }),
      ]),
    },
  });
  expect(unacknowledgedFindings(stack)).toEqual([]);
});
