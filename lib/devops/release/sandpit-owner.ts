/**
 * Who may deploy over an existing sandpit (docs/design.md "Sandpit lifecycle"): its owner, or a
 * maintainer (biomes.sandpits.maintainers). The sandpit pipeline's deploy step asks before `cdk deploy`,
 * comparing the owner of the stack already deployed with the owner the build stamped on the new
 * assembly (the branch commit's author email). Pure: the script scripts/sandpit-owner-check.ts reads
 * the two owners.
 */

/** Why the push of `author` may not deploy `stack`, owned by `existingOwner`; undefined when it may. */
export function takeoverProblem(
  stack: string,
  existingOwner: string | undefined,
  author: string,
  maintainers: readonly string[],
): string | undefined {
  // A new sandpit, or one deployed before owners existed: whoever pushes first owns it.
  if (existingOwner === undefined || existingOwner === '') return undefined;
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (same(existingOwner, author)) return undefined;
  if (maintainers.some((m) => same(m, author))) return undefined;
  return `${stack} is owned by ${existingOwner}; the commit's author ${author} may not deploy over it. Push to a sandpit branch of your own (sandpit/<name>), ask ${existingOwner} to hand it over (cdk deploy -c biome=<name> -c owner=${author}), or ask for your address in biomes.sandpits.maintainers.`;
}

/** The stack tags the build stamped on a stack of a cloud assembly (manifest.json), or undefined. */
export function assemblyStackTags(manifest: unknown, stack: string): Record<string, string> | undefined {
  const artifacts = (manifest as { artifacts?: Record<string, { type?: string; properties?: unknown }> })
    ?.artifacts;
  const artifact = artifacts?.[stack];
  if (artifact?.type !== 'aws:cloudformation:stack') return undefined;
  const tags = (artifact.properties as { tags?: unknown } | undefined)?.tags;
  if (!tags || typeof tags !== 'object') return {};
  return Object.fromEntries(
    Object.entries(tags as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  );
}
