/** The TargetModel the trigger sends the endpoint is always canonical (issue: `alice/../bob7/...`). */
import { targetModel } from '../../../lambda/deploy-trigger/model';
import { BiomeScope } from '../../../lambda/shared/scope';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const scope = new BiomeScope('biomes', 'dev', 'alice');
const target = (name: string) => ({
  scope,
  name,
  sha: SHA,
  bucket: 'landing',
  key: `alice/${name}-${SHA}.tar.gz`,
});

test('a model of the biome: <biome>/<name>-<sha>.tar.gz', () => {
  expect(targetModel(target('demo-scorer'))).toBe(`alice/demo-scorer-${SHA}.tar.gz`);
});

test.each(['../bob7/demo-scorer', 'x/../../bob7/demo-scorer', 'Demo'])(
  '%s is refused, nothing copied or invoked',
  (name) => {
    expect(() => targetModel(target(name))).toThrow(
      /is not <biome>\/<name>-<sha>\.tar\.gz.*nothing was copied or invoked/,
    );
  },
);
