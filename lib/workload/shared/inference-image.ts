/**
 * The default container of the shared multi-model endpoint: the SageMaker scikit-learn inference
 * image, which supports multi-model endpoints. SageMaker publishes it from a different account in each
 * region (sagemaker-python-sdk `image_uri_config/sklearn.json`); this map holds the commercial regions.
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

/** The default inference image of `region`; throws, naming the config key to set, for an unknown region. */
export function defaultInferenceImage(region: string, envName: string): string {
  const account = SKLEARN_REGISTRY_ACCOUNTS[region];
  if (!account) {
    throw new Error(
      `No default SageMaker scikit-learn image is known for region "${region}": set biomes.environments.${envName}.inference.image in cdk.json to a multi-model-capable container image URI.`,
    );
  }
  return `${account}.dkr.ecr.${region}.amazonaws.com/${SKLEARN_REPOSITORY}:${SKLEARN_TAG}`;
}

/**
 * Whether SageMaker can encrypt the instance's storage volume with a customer key: instance types
 * with local NVMe storage (a `d` in the family, and the GPU/Trainium families below) encrypt it in
 * hardware and reject a `KmsKeyId` (CreateEndpointConfig API reference).
 */
const LOCAL_STORAGE_FAMILIES = new Set(['g5', 'g6', 'g6e', 'p5', 'p5e', 'p5en', 'trn1', 'trn1n']);

export function supportsVolumeKmsKey(instanceType: string): boolean {
  const family = instanceType.split('.')[1] ?? '';
  if (LOCAL_STORAGE_FAMILIES.has(family)) return false;
  // m5d, c5d, r5d, g4dn, p3dn, p4d, m6id...: a `d` after the generation number.
  return !/^[a-z]+\d+[a-z]*d[a-z]*$/.test(family);
}
