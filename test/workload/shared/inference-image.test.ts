import {
  defaultImageInstanceProblem,
  inferenceBaseImage,
  SKLEARN_REGISTRY_ACCOUNTS,
  sklearnRegistry,
  sklearnRepositoryArn,
} from '../../../lib/workload/shared/inference-image';

describe('inferenceBaseImage: what the default image is built FROM', () => {
  test.each([
    ['eu-west-1', '141502667606'],
    ['us-east-1', '683313688378'],
    ['us-west-2', '246618743249'],
    ['eu-central-1', '492215442770'],
  ])('%s -> the scikit-learn 1.2-1 image of account %s', (region, account) => {
    expect(inferenceBaseImage(region, 'dev')).toBe(
      `${account}.dkr.ecr.${region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3`,
    );
    expect(sklearnRegistry(region)).toBe(`${account}.dkr.ecr.${region}.amazonaws.com`);
    expect(sklearnRepositoryArn(region, 'aws')).toBe(
      `arn:aws:ecr:${region}:${account}:repository/sagemaker-scikit-learn`,
    );
  });

  test('an unknown region is refused with the config key to set', () => {
    expect(() => inferenceBaseImage('xx-nowhere-1', 'staging')).toThrow(
      'No default SageMaker scikit-learn image is known for region "xx-nowhere-1": set biomes.environments.staging.inference.image',
    );
    expect(sklearnRegistry('xx-nowhere-1')).toBeUndefined();
    expect(sklearnRepositoryArn('xx-nowhere-1', 'aws')).toBeUndefined();
  });

  test('every registry account is a 12-digit account id', () => {
    for (const account of Object.values(SKLEARN_REGISTRY_ACCOUNTS)) expect(account).toMatch(/^\d{12}$/);
  });
});

describe('defaultImageInstanceProblem (multi-model on CPU, and the image is amd64)', () => {
  test.each([
    'ml.m5.large',
    'ml.m5.xlarge',
    'ml.c5.xlarge',
    'ml.r5.large',
    'ml.m6i.large',
    'ml.m5d.large',
    'ml.t2.medium',
  ])('%s: none', (type) => expect(defaultImageInstanceProblem(type)).toBeUndefined());
  test.each([
    'ml.g4dn.xlarge',
    'ml.g5.xlarge',
    'ml.p3.2xlarge',
    'ml.p4d.24xlarge',
    'ml.inf1.xlarge',
    'ml.trn1.2xlarge',
  ])('%s: accelerated', (type) => expect(defaultImageInstanceProblem(type)).toMatch(/accelerated instance/));
  test.each(['ml.m6g.large', 'ml.c6gn.large', 'ml.c7g.xlarge', 'ml.r7gd.large', 'ml.r8g.large'])(
    '%s: Graviton',
    (type) => expect(defaultImageInstanceProblem(type)).toMatch(/Graviton/),
  );
});
