/**
 * `npm run bench [-- --runs 5] [--skip-tests] [--save]`: measures what a developer and a cold start
 * pay and prints a table; with `--save` it also writes bench/results.json (committed, so a change can
 * be compared with the last saved run). It asserts nothing about time (the machine is shared and
 * noisy): the targets live here, not in tests.
 *
 *  - `cdk synth` of the full app, of `-c biome=alice`, and of a floor app, interleaved run by run so
 *    drift on a shared machine hits all three alike. The floor is what `cdk init` gives a team: one
 *    stack, one bucket, the same aws-cdk-lib, CLI and feature flags, run with `npx tsx` and V8's
 *    defaults. The ratios to it are the targets. For information, the biome synth is also run with
 *    the floor's runner, to show what the app's own runner (cdk.json `app`) saves.
 *  - all bundling of a synth (a fresh `LambdaBundles.prepare` of every function); for information, the
 *    same esbuild call without minification and source maps (what is left is esbuild reading and
 *    parsing the sources, most of them the SDK's);
 *  - per Lambda: minified and gzipped bytes, the SDK clients in it, the biggest packages, and the
 *    cold import in a fresh `node` (median of 5, source maps off; and with `--enable-source-maps`,
 *    the input of the decision in bundler.ts);
 *  - wall time of the test suite (`npx jest`, once), and peak memory of the full synth.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import {
  BUNDLE_FILE,
  bundle,
  discoverEntryPoints,
  esbuildOptions,
  LAMBDA_ROOT,
  LambdaBundles,
  SOURCE_MAP_FILE,
  writeBundle,
} from '../lib/bundling/bundler';
import { DEFAULT_GUARD_CACHE } from '../lib/common/control-tower';
import { REPO_ROOT } from '../lib/repo';

const WORK = path.join(REPO_ROOT, 'bench', '.work');
const RESULTS = path.join(REPO_ROOT, 'bench', 'results.json');
const GNU_TIME = '/usr/bin/time';
const IMPORT_RUNS = 5;
/** The runner `cdk init` writes into cdk.json; the floor uses it. */
const FLOOR_RUNNER = 'npx tsx';
const TARGETS = {
  fullSynthRatio: 1.6,
  biomeSynthRatio: 1.2,
  bundlingMs: 500,
  coldImportMs: 100,
  testSuiteMs: 60_000,
  /** Information, not a target: about 150 KB plus 100 KB per SDK v3 client a bundle calls. */
  bundleBudget: { baseKb: 150, perSdkClientKb: 100 },
} as const;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'skip-tests': { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
  },
  strict: true,
});
const RUNS = Math.max(1, Number(args.runs) || 3);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const mid = s[m] ?? NaN;
  return s.length % 2 ? mid : ((s[m - 1] ?? NaN) + mid) / 2;
};
const round = (x: number, digits = 0) => Number(x.toFixed(digits));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${Math.round(x)} ms`);
const mark = (ok: boolean) => (ok ? 'ok' : 'OVER');

interface Timed {
  readonly ms: number;
  readonly ok: boolean;
  readonly maxRssKb?: number;
  readonly error?: string;
}

/** Runs a command, wrapped in GNU time when present for the peak RSS of its largest process. */
function timed(command: string, argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Timed {
  const useTime = fs.existsSync(GNU_TIME);
  const [cmd, cmdArgs] = useTime ? [GNU_TIME, ['-v', command, ...argv]] : [command, argv];
  const start = performance.now();
  const r = spawnSync(cmd, cmdArgs, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const elapsed = performance.now() - start;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  const ok = r.status === 0;
  const tail = (r.stderr ?? '')
    .replace(/\tCommand being timed[\s\S]*$/, '')
    .trim()
    .split('\n')
    .slice(-15)
    .join('\n');
  return {
    ms: elapsed,
    ok,
    ...(rss?.[1] ? { maxRssKb: Number(rss[1]) } : {}),
    ...(ok ? {} : { error: tail }),
  };
}

interface SynthCase {
  readonly label: string;
  readonly cwd: string;
  readonly extra: readonly string[];
  /** Run before each of its synths (not timed). */
  readonly before?: () => void;
}

interface SynthResult {
  readonly medianMs?: number;
  readonly runsMs: number[];
  readonly maxRssKb?: number;
  readonly error?: string;
}

/** Every case once per round, round after round, so all cases see the same machine. */
function synthInterleaved(cases: readonly SynthCase[]): SynthResult[] {
  const runs = cases.map(() => ({
    runsMs: [] as number[],
    rss: [] as number[],
    error: undefined as string | undefined,
  }));
  for (let round_ = 0; round_ < RUNS; round_++) {
    cases.forEach((c, i) => {
      const acc = runs[i]!;
      if (acc.error) return;
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-bench-synth-'));
      c.before?.();
      try {
        const r = timed('npx', ['cdk', 'synth', '--quiet', '-o', out, ...c.extra], c.cwd);
        if (!r.ok) {
          console.error(`${c.label}: synth failed:\n${r.error}`);
          acc.error = r.error ?? 'failed';
          return;
        }
        acc.runsMs.push(round(r.ms));
        if (r.maxRssKb !== undefined) acc.rss.push(r.maxRssKb);
        process.stderr.write(`  ${c.label} run ${round_ + 1}/${RUNS}: ${Math.round(r.ms)} ms\n`);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  }
  return runs.map((r) =>
    r.error
      ? { runsMs: r.runsMs, error: r.error }
      : {
          medianMs: round(median(r.runsMs)),
          runsMs: r.runsMs,
          ...(r.rss.length ? { maxRssKb: Math.max(...r.rss) } : {}),
        },
  );
}

/** The floor: the smallest CDK app with the same library, CLI and feature flags, as `cdk init` runs it. */
function writeFloorApp(): string {
  const dir = path.join(WORK, 'floor');
  fs.mkdirSync(dir, { recursive: true });
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    app: string;
    context: Record<string, unknown>;
  };
  const flags = Object.fromEntries(Object.entries(cdkJson.context).filter(([k]) => k.startsWith('@aws-cdk')));
  fs.writeFileSync(
    path.join(dir, 'cdk.json'),
    `${JSON.stringify({ app: `${FLOOR_RUNNER} app.ts`, context: flags }, null, 2)}\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'app.ts'),
    [
      "import { App, Stack } from 'aws-cdk-lib';",
      "import * as s3 from 'aws-cdk-lib/aws-s3';",
      'const app = new App();',
      "new s3.Bucket(new Stack(app, 'Floor'), 'Bucket');",
      'app.synth();',
      '',
    ].join('\n'),
  );
  return dir;
}

/**
 * The app of bin/app.ts with the checks as they were before the Control Tower rules (cdk-nag's two
 * packs only): a bench-only entry point, so the plugin's cost is measured, not guessed.
 */
function withoutControlTowerApp(): string {
  const file = path.join(WORK, 'app-without-control-tower.ts');
  fs.writeFileSync(
    file,
    [
      "import { App, Validations } from 'aws-cdk-lib';",
      "import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';",
      "import { buildApp } from '../../lib/app';",
      "import { configFromContext } from '../../lib/config';",
      'const app = new App();',
      'const { config, selection } = configFromContext((key) => app.node.tryGetContext(key));',
      'buildApp(app, config, selection);',
      'Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));',
      'app.synth();',
      '',
    ].join('\n'),
  );
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { app: string };
  return cdkJson.app.replace(/\S+\.ts\b/, path.relative(REPO_ROOT, file));
}

/** The app command of cdk.json with the floor's runner instead of ours (same entry point). */
function floorRunnerApp(): string {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { app: string };
  const entry = cdkJson.app.split(' ').find((a) => a.endsWith('.ts'));
  if (!entry) throw new Error(`cannot find the entry point (*.ts) in cdk.json app "${cdkJson.app}"`);
  return `${FLOOR_RUNNER} ${entry}`;
}

/**
 * Placeholder environment for a function that validates its settings at import: the names are the
 * quoted UPPER_SNAKE strings of lambda/<name>/env.ts; numbers and prefixes get plausible values.
 */
function placeholderEnv(name: string): Record<string, string> {
  const file = path.join(LAMBDA_ROOT, name, 'env.ts');
  if (!fs.existsSync(file)) return {};
  const names = new Set(
    [...fs.readFileSync(file, 'utf8').matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)].flatMap((m) =>
      m[1] ? [m[1]] : [],
    ),
  );
  const arn = (n: string) =>
    /TOPIC_ARN$/.test(n)
      ? 'arn:aws:sns:eu-west-1:222222222222:bench'
      : /ROLE_ARN$/.test(n)
        ? 'arn:aws:iam::222222222222:role/bench'
        : /KEY_ARN$/.test(n)
          ? 'arn:aws:kms:eu-west-1:222222222222:key/11111111-2222-3333-4444-555555555555'
          : 'arn:aws:sns:eu-west-1:222222222222:bench';
  const value = (n: string) =>
    /(BYTES|SECONDS|MINUTES|MS|COUNT|SIZE|LIMIT|RETRIES|DAYS)$/.test(n)
      ? '60'
      : /_ARN$/.test(n)
        ? arn(n)
        : /SCHEDULE$/.test(n)
          ? 'none'
          : /PREFIX$/.test(n)
            ? 'bench/'
            : /ENV_NAME$/.test(n)
              ? 'dev'
              : 'bench';
  return Object.fromEntries([...names].map((n) => [n, value(n)]));
}

/** Milliseconds to import a bundle in a fresh node, as the Lambda INIT phase would. */
function coldImport(
  file: string,
  env: NodeJS.ProcessEnv,
  sourceMaps: boolean,
): { ms?: number; error?: string } {
  const script = `const t=performance.now();await import(${JSON.stringify(`file://${file}`)});process.stdout.write(String(performance.now()-t));`;
  const times: number[] = [];
  for (let i = 0; i < IMPORT_RUNS; i++) {
    const flags = sourceMaps ? ['--enable-source-maps'] : [];
    const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      const line = r.stderr.split('\n').find((l) => /^\w*Error\b.*?: /.test(l));
      return { error: (line ?? 'import failed').slice(0, 120) };
    }
    times.push(Number(r.stdout));
  }
  return { ms: round(median(times), 1) };
}

interface LambdaResult {
  readonly name: string;
  readonly minifiedBytes: number;
  readonly gzippedBytes: number;
  readonly sourceMapBytes: number;
  readonly sdkClients: string[];
  /** Information: 150 KB + 100 KB per SDK client. */
  readonly budgetBytes: number;
  readonly topPackages: Record<string, number>;
  readonly coldImportMs?: number;
  readonly coldImportWithSourceMapsMs?: number;
  readonly importError?: string;
}

function lambdas(): {
  bundlingMs: number;
  bundlingRunsMs: number[];
  plainEsbuildMs: number;
  functions: LambdaResult[];
} {
  const names = Object.keys(discoverEntryPoints());
  // What a synth does: a fresh cache, one prepare of every function (bundle + write).
  const bundlingRunsMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-bench-bundles-'));
    try {
      const start = performance.now();
      new LambdaBundles({ cacheDir }).prepare(names);
      bundlingRunsMs.push(round(performance.now() - start));
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  // The same call with nothing but reading, parsing and linking: the part no option removes.
  const plainRunsMs: number[] = [];
  const entries = discoverEntryPoints();
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    esbuild.buildSync({
      ...esbuildOptions(entries, path.join(WORK, 'plain')),
      minify: false,
      sourcemap: false,
      write: false,
    });
    plainRunsMs.push(round(performance.now() - start));
  }
  const dir = path.join(WORK, 'bundles');
  fs.rmSync(dir, { recursive: true, force: true });
  const functions: LambdaResult[] = [];
  for (const out of bundle(names, discoverEntryPoints(), { analyze: true }).values()) {
    const code = out.files.get(BUNDLE_FILE);
    if (!code) throw new Error(`${out.name}: no ${BUNDLE_FILE} in the bundle`);
    const file = path.join(writeBundle(out, dir), BUNDLE_FILE);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: out.name,
      NODE_NO_WARNINGS: '1',
      ...placeholderEnv(out.name),
    };
    const plain = coldImport(file, env, false);
    const mapped = coldImport(file, env, true);
    const packages = out.packages ?? {};
    const sdkClients = Object.keys(packages)
      .filter((p) => p.startsWith('@aws-sdk/client-'))
      .sort();
    const top = Object.entries(packages)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4);
    functions.push({
      name: out.name,
      minifiedBytes: code.length,
      gzippedBytes: gzipSync(code, { level: 9 }).length,
      sourceMapBytes: out.files.get(SOURCE_MAP_FILE)?.length ?? 0,
      sdkClients,
      budgetBytes:
        (TARGETS.bundleBudget.baseKb + TARGETS.bundleBudget.perSdkClientKb * sdkClients.length) * 1024,
      topPackages: Object.fromEntries(top),
      ...(plain.ms !== undefined ? { coldImportMs: plain.ms } : {}),
      ...(mapped.ms !== undefined ? { coldImportWithSourceMapsMs: mapped.ms } : {}),
      ...(plain.error ? { importError: plain.error } : {}),
    });
  }
  return {
    bundlingMs: round(median(bundlingRunsMs)),
    bundlingRunsMs,
    plainEsbuildMs: round(median(plainRunsMs)),
    functions,
  };
}

function table(r: readonly string[][]): string {
  const header = r[0] ?? [];
  const widths = header.map((_, i) => Math.max(...r.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${widths.map((w, i) => (row[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...r.slice(1).map(line)].join(
    '\n',
  );
}

function main(): number {
  fs.mkdirSync(WORK, { recursive: true });
  process.stderr.write(`Benchmark: ${RUNS} runs each on ${os.cpus().length} CPUs, node ${process.version}\n`);

  const bundling = lambdas();
  const clearGuardCache = () => fs.rmSync(DEFAULT_GUARD_CACHE, { recursive: true, force: true });
  const [floor, full, biome, biomeFloorRunner, fullCached, fullWithoutCt] = synthInterleaved([
    { label: 'floor synth', cwd: writeFloorApp(), extra: [] },
    // What CI and a first synth pay: no cfn-guard finding cached (lib/common/control-tower.ts).
    { label: 'full synth', cwd: REPO_ROOT, extra: [], before: clearGuardCache },
    { label: 'biome synth', cwd: REPO_ROOT, extra: ['-c', 'biome=alice'] },
    {
      label: 'biome synth, floor runner',
      cwd: REPO_ROOT,
      extra: ['-c', 'biome=alice', '--app', floorRunnerApp()],
    },
    // Information: a synth after an unchanged one (every cfn-guard finding cached).
    { label: 'full synth, guard findings cached', cwd: REPO_ROOT, extra: [] },
    // Information: the same app without the Control Tower rules (what the plugin costs).
    {
      label: 'full synth, no Control Tower rules',
      cwd: REPO_ROOT,
      extra: ['--app', withoutControlTowerApp()],
    },
  ]) as [SynthResult, SynthResult, SynthResult, SynthResult, SynthResult, SynthResult];
  let tests: Timed | undefined;
  if (!args['skip-tests']) {
    process.stderr.write('  test suite (npx jest, once)...\n');
    tests = timed('npx', ['jest', '--silent'], REPO_ROOT);
  }
  const ratio = (x: SynthResult) =>
    x.medianMs !== undefined && floor.medianMs ? round(x.medianMs / floor.medianMs, 2) : undefined;

  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()}-${os.arch()}` },
    runs: RUNS,
    targets: TARGETS,
    synth: {
      floor,
      full: { ...full, ratioToFloor: ratio(full) },
      biome: { ...biome, ratioToFloor: ratio(biome) },
      biomeWithFloorRunner: { ...biomeFloorRunner, ratioToFloor: ratio(biomeFloorRunner) },
      fullGuardCached: { ...fullCached, ratioToFloor: ratio(fullCached) },
      fullWithoutControlTower: { ...fullWithoutCt, ratioToFloor: ratio(fullWithoutCt) },
    },
    bundling: {
      medianMs: bundling.bundlingMs,
      runsMs: bundling.bundlingRunsMs,
      functions: bundling.functions.length,
      unminifiedWithoutMapsMs: bundling.plainEsbuildMs,
    },
    lambdas: bundling.functions,
    testSuite: tests
      ? { wallMs: round(tests.ms), runs: 1, ok: tests.ok, ...(tests.error ? { error: tests.error } : {}) }
      : { skipped: true },
    peakMemory: {
      fullSynthMaxRssMb: full.maxRssKb !== undefined ? round(full.maxRssKb / 1024) : undefined,
      how: 'GNU time -v: peak RSS of the largest single process of `cdk synth` (the CLI or the app)',
    },
  };
  if (args.save) fs.writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);

  const rows: string[][] = [['measure', 'median', 'vs floor', 'target', '']];
  const synthRow = (label: string, x: SynthResult, r: number | undefined, target?: number) =>
    rows.push([
      label,
      x.error ? 'FAILED' : ms(x.medianMs),
      r === undefined ? '' : `${r}x`,
      target ? `<= ${target}x` : '(information)',
      target && r !== undefined ? mark(r <= target) : '',
    ]);
  synthRow('cdk synth: floor app', floor, undefined);
  rows[rows.length - 1]![3] = '';
  synthRow('cdk synth: full app', full, results.synth.full.ratioToFloor, TARGETS.fullSynthRatio);
  synthRow('  same, guard findings cached', fullCached, results.synth.fullGuardCached.ratioToFloor);
  synthRow(
    '  same, without the Control Tower rules',
    fullWithoutCt,
    results.synth.fullWithoutControlTower.ratioToFloor,
  );
  synthRow('cdk synth: -c biome=alice', biome, results.synth.biome.ratioToFloor, TARGETS.biomeSynthRatio);
  synthRow(
    '  same, with the floor runner',
    biomeFloorRunner,
    results.synth.biomeWithFloorRunner.ratioToFloor,
  );
  rows.push([
    `bundling, all ${bundling.functions.length} functions`,
    ms(bundling.bundlingMs),
    '',
    `<= ${TARGETS.bundlingMs} ms`,
    mark(bundling.bundlingMs <= TARGETS.bundlingMs),
  ]);
  rows.push(['  same, unminified, no source maps', ms(bundling.plainEsbuildMs), '', '(information)', '']);
  rows.push([
    'test suite (npx jest, 1 run)',
    tests ? `${ms(tests.ms)}${tests.ok ? '' : ' (FAILED)'}` : 'skipped',
    '',
    `<= ${TARGETS.testSuiteMs / 1000} s`,
    tests ? mark(tests.ms <= TARGETS.testSuiteMs) : '',
  ]);
  rows.push([
    'peak RSS, full synth',
    results.peakMemory.fullSynthMaxRssMb !== undefined ? `${results.peakMemory.fullSynthMaxRssMb} MB` : 'n/a',
    '',
    '',
    '',
  ]);
  const lambdaRows: string[][] = [
    [
      'function',
      'cold import',
      'target',
      'with src maps',
      'minified',
      'budget (info)',
      'gzipped',
      'largest packages',
    ],
  ];
  for (const f of bundling.functions) {
    lambdaRows.push([
      f.name,
      f.importError ? `error: ${f.importError}` : ms(f.coldImportMs),
      mark((f.coldImportMs ?? Infinity) <= TARGETS.coldImportMs),
      ms(f.coldImportWithSourceMapsMs),
      kb(f.minifiedBytes),
      `${kb(f.budgetBytes)} (${f.sdkClients.length} clients)${f.minifiedBytes > f.budgetBytes ? ' over' : ''}`,
      kb(f.gzippedBytes),
      Object.entries(f.topPackages)
        .map(([p, b]) => `${p} ${Math.round(b / 1024)}K`)
        .join(', '),
    ]);
  }
  console.log(`\n${table(rows)}\n\n${table(lambdaRows)}\n`);
  console.log(
    `Targets: cold import <= ${TARGETS.coldImportMs} ms per bundle (median of ${IMPORT_RUNS} fresh processes, source maps off); the size budget (${TARGETS.bundleBudget.baseKb} KB + ${TARGETS.bundleBudget.perSdkClientKb} KB per SDK client) is information.`,
  );
  console.log(
    args.save
      ? `Wrote ${path.relative(REPO_ROOT, RESULTS)}.`
      : 'Not saved (pass --save to write bench/results.json).',
  );
  return [full, biome, floor, fullCached, fullWithoutCt].some((x) => x.error) ? 1 : 0;
}

process.exitCode = main();
