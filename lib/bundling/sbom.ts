/**
 * The software bill of materials of a release (issue 13 item 4): CycloneDX JSON of the production
 * dependencies, from npm's own `npm sbom` (npm 9.5+; it reads package-lock.json, so what it lists is what
 * `npm ci` installed and esbuild bundled). Made deterministic for the commit: npm stamps a random
 * serial number and the time, which become a UUID derived from the commit and no timestamp, and the
 * commit is a metadata property. Published beside the artifacts as `<biome>/sbom-<sha>.cdx.json`, and
 * named by every ledger record of that commit (`sbomKey`).
 */
import { spawnSync } from 'node:child_process';

export { SBOM_SUFFIX, sbomFileName, sbomKey } from '../../lambda/shared/contracts';

/** A version-4-shaped UUID from the commit's first 32 hex digits (stable: same commit, same id). */
function uuidOf(sha: string): string {
  const h = sha.slice(0, 32).split('');
  h[12] = '4';
  h[16] = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** The SBOM's bytes for `sha`, or throws with what npm said. */
export function makeSbom(root: string, sha: string, npm = 'npm'): Uint8Array {
  const run = spawnSync(npm, ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--package-lock-only'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error || run.status !== 0) {
    throw new Error(
      `npm sbom failed (${run.error?.message ?? `exit ${String(run.status)}`}): ${run.stderr.slice(0, 500)}; the build needs npm 9.5 or newer and package-lock.json`,
    );
  }
  let bom: Record<string, unknown>;
  try {
    bom = JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`npm sbom printed something that is not JSON: ${run.stdout.slice(0, 200)}`);
  }
  if (bom.bomFormat !== 'CycloneDX')
    throw new Error(`npm sbom gave no CycloneDX document (bomFormat ${String(bom.bomFormat)})`);
  const metadata = { ...(bom.metadata as Record<string, unknown> | undefined) };
  delete metadata.timestamp;
  const properties = Array.isArray(metadata.properties) ? (metadata.properties as unknown[]) : [];
  metadata.properties = [...properties, { name: 'biomes:commit', value: sha }];
  return new TextEncoder().encode(
    `${JSON.stringify({ ...bom, serialNumber: `urn:uuid:${uuidOf(sha)}`, metadata }, null, 2)}\n`,
  );
}
