/**
 * The base of the shared multi-model endpoint's default image: the SageMaker scikit-learn inference
 * image 1.2-1, which supports multi-model endpoints (its final/Dockerfile.cpu:57 sets the label
 * `com.amazonaws.sagemaker.capabilities.multi-models=true`, which an image built FROM it inherits).
 * The endpoint runs our image built FROM it (lib/workload/shared/inference.ts says why). SageMaker
 * publishes it from a different account in each region (sagemaker-python-sdk
 * `image_uri_config/sklearn.json`); this map holds the commercial regions. The tag is amd64 only
 * (that file lists Graviton images for 1.0-1 alone), so our image is built for linux/amd64.
 * Set `environments.<env>.inference.image` in cdk.json for another framework or region.
 */

export const SKLEARN_REPOSITORY = 'sagemaker-scikit-learn';
export const SKLEARN_TAG = '1.2-1-cpu-py3';

export const SKLEARN_REGISTRY_ACCOUNTS: Readonly<Record<string, string>> = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ca-central-1': '341280168497',
  'eu-central-1': '492215442770',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

/** The registry (`<account>.dkr.ecr.<region>.amazonaws.com`) of the scikit-learn image in `region`, if known. */
export function sklearnRegistry(region: string): string | undefined {
  const account = SKLEARN_REGISTRY_ACCOUNTS[region];
  return account ? `${account}.dkr.ecr.${region}.amazonaws.com` : undefined;
}

/** The ARN of the scikit-learn image's repository in `region` (what a build that pulls it may read). */
export function sklearnRepositoryArn(region: string, partition: string): string | undefined {
  const account = SKLEARN_REGISTRY_ACCOUNTS[region];
  return account ? `arn:${partition}:ecr:${region}:${account}:repository/${SKLEARN_REPOSITORY}` : undefined;
}

/**
 * The base image (`FROM`) of the default inference image in `region`; throws, naming the config key
 * to set, for an unknown region.
 */
export function inferenceBaseImage(region: string, envName: string): string {
  const registry = sklearnRegistry(region);
  if (!registry) {
    throw new Error(
      `No default SageMaker scikit-learn image is known for region "${region}": set biomes.environments.${envName}.inference.image in cdk.json to a multi-model-capable container image URI.`,
    );
  }
  return `${registry}/${SKLEARN_REPOSITORY}:${SKLEARN_TAG}`;
}

/**
 * Whether SageMaker can encrypt the instance's storage volume with a customer key: instance types
 * with local NVMe storage (a `d` in the family, and the GPU/Trainium families below) encrypt it in
 * hardware and reject a `KmsKeyId` (CreateEndpointConfig API reference).
 */
const LOCAL_STORAGE_FAMILIES = new Set(['g5', 'g6', 'g6e', 'p5', 'p5e', 'p5en', 'trn1', 'trn1n', 'trn2']);

export function supportsVolumeKmsKey(instanceType: string): boolean {
  const family = instanceType.split('.')[1] ?? '';
  if (LOCAL_STORAGE_FAMILIES.has(family)) return false;
  // m5d, c5d, r5d, g4dn, p3dn, p4d, m6id...: a `d` after the generation number.
  return !/^[a-z]+\d+[a-z]*d[a-z]*$/.test(family);
}

/**
 * @deprecated The image the endpoint runs is now built FROM this one (lib/workload/shared/inference.ts);
 * use {@link inferenceBaseImage}, which this is.
 */
export const defaultInferenceImage = inferenceBaseImage;

/**
 * Why the default image cannot serve multi-model on `instanceType`, if it cannot. "Multi-model
 * endpoints support all of the CPU instance types"; GPU instances host multiple models only through
 * the Triton Inference Server (awsdocs/amazon-sagemaker-developer-guide doc_source/multi-model-endpoints.md:57-81),
 * and Inferentia and Trainium are not CPU instances. Graviton instances are CPU, but the scikit-learn
 * 1.2-1 image is amd64 only: its container would not run there and the endpoint would never become healthy.
 */
export function defaultImageInstanceProblem(instanceType: string): string | undefined {
  const family = instanceType.split('.')[1] ?? '';
  if (/^(p|g|inf|trn|dl)\d/.test(family)) {
    return `${instanceType} is an accelerated instance: multi-model endpoints host several models on GPUs only with the Triton Inference Server, and not on Inferentia or Trainium; the default scikit-learn image needs a CPU instance type such as ml.m5.large`;
  }
  if (/^[a-z]+\d+g/.test(family)) {
    return `${instanceType} is a Graviton (arm64) instance: the default scikit-learn 1.2-1 image is amd64 only; use an x86 CPU instance type such as ml.m5.large`;
  }
  return undefined;
}
