import { SERVICES } from '../../lambda/services';
import { BUNDLE_FILE, bundle, discoverEntryPoints } from '../../lib/bundling/bundler';
import { BiomeStack } from '../../lib/workload/biome/biome-stack';
import { SharedStack } from '../../lib/workload/shared/shared-stack';

describe('the Lambda functions of this repository', () => {
  const entries = discoverEntryPoints();

  test('every function a stack or the build uses has an entry point', () => {
    const used = [
      ...new Set([...SharedStack.FUNCTIONS, ...BiomeStack.functions(), ...Object.keys(SERVICES)]),
    ].sort();
    const missing = used.filter((name) => !entries[name]);
    expect(missing).toEqual([]);
  });

  test('every entry point bundles in one call', () => {
    const names = Object.keys(entries);
    const out = bundle(names);
    expect([...out.keys()]).toEqual(names);
    for (const b of out.values()) expect(b.files.get(BUNDLE_FILE)?.length).toBeGreaterThan(0);
    // Sizes are reported by `npm run bench`, not asserted here (the targets live in the benchmark).
  });
});
