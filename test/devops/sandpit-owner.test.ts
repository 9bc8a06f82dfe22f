/** Who may push over an existing sandpit (lib/devops/release/sandpit-owner.ts), and reading owners from an assembly. */
import { assemblyStackTags, takeoverProblem } from '../../lib/devops/release/sandpit-owner';

const STACK = 'biomes-dev-alice';

describe('takeoverProblem', () => {
  test("a new sandpit (no stack, or no owner tag yet) is anyone's", () => {
    expect(takeoverProblem(STACK, undefined, 'bob@example.com', [])).toBeUndefined();
    expect(takeoverProblem(STACK, '', 'bob@example.com', [])).toBeUndefined();
  });

  test('its owner may push, whatever the case of the address', () => {
    expect(takeoverProblem(STACK, 'Alice@Example.com', 'alice@example.com', [])).toBeUndefined();
  });

  test('someone else is refused with a message naming the owner and what to do', () => {
    const problem = takeoverProblem(STACK, 'alice@example.com', 'bob@example.com', []);
    expect(problem).toMatch(
      /biomes-dev-alice is owned by alice@example\.com; the commit's author bob@example\.com may not deploy over it/,
    );
    expect(problem).toMatch(/sandpit\/<name>/);
    expect(problem).toMatch(/-c owner=bob@example\.com/);
    expect(problem).toMatch(/biomes\.sandpits\.maintainers/);
  });

  test('a maintainer may push over anyone', () => {
    expect(
      takeoverProblem(STACK, 'alice@example.com', 'lead@example.com', ['lead@example.com']),
    ).toBeUndefined();
  });
});

describe('assemblyStackTags', () => {
  const manifest = {
    artifacts: {
      [STACK]: {
        type: 'aws:cloudformation:stack',
        properties: { tags: { owner: 'alice@example.com', 'ttl-days': '7' } },
      },
      Tree: { type: 'cdk:tree' },
    },
  };

  test('reads the stack tags the build stamped', () => {
    expect(assemblyStackTags(manifest, STACK)).toEqual({ owner: 'alice@example.com', 'ttl-days': '7' });
  });

  test('a stack the assembly lacks, or an artifact that is no stack, gives undefined', () => {
    expect(assemblyStackTags(manifest, 'biomes-dev-bob')).toBeUndefined();
    expect(assemblyStackTags(manifest, 'Tree')).toBeUndefined();
    expect(assemblyStackTags({}, STACK)).toBeUndefined();
  });
});
