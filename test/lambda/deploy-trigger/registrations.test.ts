/**
 * What a biome registered, as one union told apart by `kind`: read from the parameter its
 * BiomeScope names, parsed by the schema of the artifact's kind, and refused with a reason otherwise.
 */
import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Stop } from '../../../lambda/deploy-trigger/outcome';
import {
  parseRegistration,
  readRegistration,
  registrationParameter,
} from '../../../lambda/deploy-trigger/registrations';
import { EnvScope } from '../../../lambda/shared/scope';

const main = new EnvScope('biomes', 'dev').biome('main');
const SERVICE = { functionName: 'biomes-dev-main-Ingest-abc', alias: 'live' };
const MODEL = { pointerParameter: '/biomes/dev/main/model-pointers/ranker' };

/** The rejection `run` throws (a final outcome), failing the test on anything else. */
function rejection(run: () => unknown): Stop {
  try {
    run();
  } catch (e) {
    if (e instanceof Stop) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('the registration union', () => {
  test('a service registration parses as kind "service"', () => {
    const found = parseRegistration(main, 'service', 'ingest', {
      ...SERVICE,
      smokeCheck: { payload: { smoke: true } },
    });
    expect(found).toEqual({
      kind: 'service',
      registration: { ...SERVICE, smokeCheck: { payload: { smoke: true } } },
    });
    // Narrowing on kind is all a caller needs: no cast between the two.
    if (found.kind !== 'service') throw new Error('expected a service');
    expect(found.registration.functionName).toBe(SERVICE.functionName);
  });

  test('a model registration parses as kind "model"', () => {
    expect(parseRegistration(main, 'model', 'ranker', MODEL)).toEqual({ kind: 'model', registration: MODEL });
  });

  test('a registration written before the validation replaced the warm-up still parses; its warmUp is dropped', () => {
    const warmUp = { contentType: 'application/json', body: '{}' };
    const found = parseRegistration(main, 'model', 'ranker', { ...MODEL, warmUp });
    expect(found).toEqual({ kind: 'model', registration: MODEL });
    expect(found.registration).not.toHaveProperty('warmUp');
  });

  test('a service registration read for a model key is rejected as such, and the other way round', () => {
    const asModel = rejection(() => parseRegistration(main, 'model', 'ranker', SERVICE));
    expect(asModel.status).toBe('rejected');
    expect(asModel.reason).toMatch(
      /^registration \/biomes\/dev\/main\/models\/ranker holds a service registration, not a model registration; .*model "ranker" of biome "main".*cdk deploy -c biome=main -c env=dev/,
    );
    const asService = rejection(() => parseRegistration(main, 'service', 'ingest', MODEL));
    expect(asService.reason).toMatch(
      /^registration \/biomes\/dev\/main\/services\/ingest holds a model registration, not a service registration/,
    );
  });

  test('an invalid registration names the fields at fault, relative to the registration', () => {
    const bad = rejection(() =>
      parseRegistration(main, 'service', 'ingest', { functionName: 'f', alias: 'v1' }),
    );
    expect(bad.reason).toMatch(/^registration of service "ingest" in biome "main" is invalid \(alias: /);
    expect(bad.reason).not.toMatch(/registration\.alias/);
    const notAnObject = rejection(() => parseRegistration(main, 'model', 'ranker', 'text'));
    expect(notAnObject.reason).toMatch(/is invalid \(: Invalid input: expected object/);
  });

  test("a model may only register its own biome's pointer", () => {
    const other = rejection(() =>
      parseRegistration(main, 'model', 'ranker', {
        pointerParameter: '/biomes/dev/alice/model-pointers/ranker',
      }),
    );
    expect(other.reason).toMatch(
      /registers pointer \/biomes\/dev\/alice\/model-pointers\/ranker, but it must be \/biomes\/dev\/main\/model-pointers\/ranker/,
    );
  });

  test('the parameters are the ones the biome scope names', () => {
    expect(registrationParameter(main, 'service', 'ingest')).toBe(main.serviceRegistration('ingest'));
    expect(registrationParameter(main, 'model', 'ranker')).toBe(main.modelRegistration('ranker'));
    expect(registrationParameter(main, 'service', 'ingest')).toBe('/biomes/dev/main/services/ingest');
    expect(registrationParameter(main, 'model', 'ranker')).toBe('/biomes/dev/main/models/ranker');
  });
});

describe('reading a registration', () => {
  const ssm = mockClient(SSMClient);
  const client = new SSMClient({ region: 'eu-west-1' });
  beforeEach(() => ssm.reset());
  afterAll(() => ssm.restore());

  test('reads the parameter of its kind and returns the union', async () => {
    ssm
      .on(GetParameterCommand, { Name: '/biomes/dev/main/models/ranker' })
      .resolves({ Parameter: { Value: JSON.stringify(MODEL) } });
    await expect(readRegistration(client, main, 'model', 'ranker')).resolves.toEqual({
      kind: 'model',
      registration: MODEL,
    });
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssm).not.toHaveReceivedCommand(GetParametersByPathCommand);
  });

  test('a parameter that is not JSON is rejected', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '{not json' } });
    await expect(readRegistration(client, main, 'service', 'ingest')).rejects.toThrow(
      /registration \/biomes\/dev\/main\/services\/ingest is not JSON/,
    );
  });
});
