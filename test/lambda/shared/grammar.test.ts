import {
  artifactFileName,
  artifactKey,
  biomeNameProblem,
  decodeS3EventKey,
  parseArtifactKey,
  shaProblem,
} from '../../../lambda/shared/grammar';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('artifact keys', () => {
  test('a microservice key', () => {
    expect(parseArtifactKey(`alice/ingest-${SHA}.zip`)).toEqual({
      ok: true,
      value: { biome: 'alice', name: 'ingest', sha: SHA, kind: 'service', key: `alice/ingest-${SHA}.zip` },
    });
  });

  test('a model key, with a hyphenated name', () => {
    const parsed = parseArtifactKey(`main/demo-scorer-${SHA}.tar.gz`);
    expect(parsed).toMatchObject({ ok: true, value: { biome: 'main', name: 'demo-scorer', kind: 'model' } });
  });

  test('round trip with the builders', () => {
    expect(artifactFileName('model', 'demo-scorer', SHA)).toBe(`demo-scorer-${SHA}.tar.gz`);
    expect(parseArtifactKey(artifactKey('service', 'bob', 'predict', SHA))).toMatchObject({ ok: true });
  });

  test.each([
    [`ingest-${SHA}.zip`, /must be <biome>\/<name>-<sha>/],
    [`alice/sub/ingest-${SHA}.zip`, /must be <biome>\/<name>-<sha>/],
    [`Alice/ingest-${SHA}.zip`, /biome .* must match/],
    [`shared/ingest-${SHA}.zip`, /reserved/],
    [`alice/ingest-${SHA}.jar`, /must end in .zip/],
    [`alice/ingest-${SHA.slice(0, 7)}.zip`, /full 40-character/],
    [`alice/ingest-${SHA.toUpperCase()}.zip`, /full 40-character/],
    [`alice/${SHA}.zip`, /no "-<sha>"|name ""/],
    [`alice/In_gest-${SHA}.zip`, /name "In_gest"/],
    [`alice/ingest-${SHA}.tar.gz.zip`, /full 40-character|name/],
  ])('%s is refused', (key, reason) => {
    const parsed = parseArtifactKey(key);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  test('S3 event keys are URL-decoded with + as a space', () => {
    expect(decodeS3EventKey('alice/my+model%2Bv2-x.zip')).toBe('alice/my model+v2-x.zip');
    expect(parseArtifactKey(decodeS3EventKey(`alice/in+gest-${SHA}.zip`)).ok).toBe(false);
  });
});

test('main is a biome only where the mainline is allowed', () => {
  expect(biomeNameProblem('main')).toMatch(/reserved/);
  expect(biomeNameProblem('main', { allowMainline: true })).toBeUndefined();
  expect(shaProblem(SHA)).toBeUndefined();
});
