/**
 * AWS Control Tower proactive controls as a synth check: the cfn-guard rules Control Tower's hooks
 * enforce, shipped in @cdklabs/cdk-validator-cfnguard (its bundled cfn-guard binary runs offline), run
 * on every template of every synth like cdk-nag, so a resource an organisation with these controls in
 * FAIL mode would refuse fails `cdk synth` here first. Exceptions are acknowledgements with a reason
 * (`Validations.of(scope).acknowledge({ id: 'cdk-validator-cfnguard::<guard rule name>', reason })`),
 * next to the resource or in lib/common/compliance.ts.
 *
 * A wrapper, for two behaviours of the plugin with aws-cdk-lib 2.276 (read in
 * core/lib/private/synthesis-validation.js, collectSuppressions, and the plugin's lib/check.js):
 * - the plugin reports violations without a severity; once any of them is acknowledged, aws-cdk-lib
 *   recomputes the report's success as "no violation of severity error or fatal", which is then
 *   always true, so one acknowledgement would let every other violation pass. Every violation is an
 *   error here.
 * - for some checks (a key policy statement with a Condition, cluster log exports) cfn-guard reports a
 *   path relative to a rule variable and the plugin emits a second, duplicate resource entry without a
 *   logical id, which only an app-wide acknowledgement could silence. When the same violation names
 *   real resources of that template, that orphan entry is dropped; an orphan on its own is kept.
 *
 * And for speed: cfn-guard 3.1 evaluates every rule file against every whole template, about 150 ms a
 * rule on the DevOps template (measured: 39 s for the whole app's 7 templates and 237 rules, most of
 * them for services Biomes never uses). Every Control Tower rule selects its resources by type
 * (`Resources.*[ Type == 'AWS::S3::Bucket' ]`), so each rule here sees the properties of the resources of
 * the types its file names only (a rule naming several, like CT.CLOUDWATCH.PR.3 with keys and log
 * groups, sees all of them; every other resource keeps its logical id and type), grouped into one
 * cfn-guard call per set of types; a rule with none of its types in a template is skipped for it,
 * which is what cfn-guard reports for it anyway (SKIP). Parameters,
 * Conditions and the other sections stay as they are. test/common/control-tower.test.ts checks that
 * this finds exactly what the plugin finds on whole templates. Findings are cached by the content of
 * each reduced template and its rules (see `cacheDir`), so a synth of unchanged templates runs no
 * cfn-guard at all.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
} from 'aws-cdk-lib';
import { CfnGuardValidator, type CfnGuardValidatorProps } from '@cdklabs/cdk-validator-cfnguard';

/** The plugin's name: acknowledgement ids are `<name>::<guard rule name>`. */
export const CONTROL_TOWER_PLUGIN = 'cdk-validator-cfnguard';

/** An acknowledgement id of a Control Tower rule, by its guard rule name (e.g. `sqs_dlq_check`). */
export function controlTowerRule(rule: string): string {
  return `${CONTROL_TOWER_PLUGIN}::${rule}`;
}

/** The Control Tower guard rules shipped with the plugin (rules/control-tower/cfn-guard). */
export const CONTROL_TOWER_RULES_DIR = path.join(
  path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard')),
  '..',
  'rules',
  'control-tower',
  'cfn-guard',
);

export interface ControlTowerChecksProps {
  /** Rule files (names without `.guard`, e.g. `ct-s3-pr-1`) not to run, as the plugin's `disabledRules`. */
  readonly disabledRules?: string[];
  /**
   * Run every rule on whole templates, as the plugin does (slow; the reference the grouped run is
   * tested against).
   * @default false
   */
  readonly wholeTemplates?: boolean;
  /**
   * Where findings are cached, by the content of each reduced template and of the rules (cfn-guard
   * is deterministic), so an unchanged template costs no cfn-guard run on the next synth; `false`
   * for none.
   * @default node_modules/.cache/biomes-cfn-guard
   */
  readonly cacheDir?: string | false;
  /**
   * cfn-guard processes run at once (each group of rules is one process; they run in worker threads).
   * @default the machine's available parallelism
   */
  readonly parallelism?: number;
}

/** The default cache of findings (removed with node_modules, so by `npm ci`). */
export const DEFAULT_GUARD_CACHE = path.join(
  __dirname,
  '..',
  '..',
  'node_modules',
  '.cache',
  'biomes-cfn-guard',
);

/** Rules that name the same resource types: one cfn-guard call, on the same reduced templates. */
interface RuleGroup {
  /** Lower-cased resource types the rules' files name (empty: whole templates). */
  readonly types: ReadonlySet<string>;
  readonly files: string[];
  /** What the group's findings depend on besides the data: the plugin's version (it ships cfn-guard), the rules' text. */
  readonly key: string;
}

type Violation = PolicyValidationPluginReport['violations'][number];
type Resources = Violation['violatingResources'];

export class ControlTowerChecks implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];
  private readonly inner: CfnGuardValidator;
  private readonly groups: readonly RuleGroup[];
  private readonly wholeTemplates: boolean;
  private readonly cacheDir: string | false;
  private readonly parallelism: number;
  /** How many cfn-guard processes this instance ran (the cache avoids them); for tests. */
  guardCalls = 0;

  constructor(props: ControlTowerChecksProps = {}) {
    const options: CfnGuardValidatorProps = { disabledRules: props.disabledRules };
    this.inner = new CfnGuardValidator(options);
    this.name = this.inner.name;
    this.version = this.inner.version;
    this.ruleIds = this.inner.ruleIds;
    this.wholeTemplates = props.wholeTemplates ?? false;
    this.cacheDir = props.cacheDir ?? DEFAULT_GUARD_CACHE;
    this.parallelism = Math.max(1, props.parallelism ?? os.availableParallelism());
    const disabled = new Set(props.disabledRules ?? []);
    // Each rule file read once per instance: its types group it, its text keys the cache.
    const groups = new Map<
      string,
      { types: Set<string>; files: string[]; hash: ReturnType<typeof createHash> }
    >();
    for (const file of ruleFiles(CONTROL_TOWER_RULES_DIR)) {
      if (disabled.has(path.parse(file).name)) continue;
      const text = fs.readFileSync(file, 'utf8');
      const types = ruleTypes(text);
      const id = types.join(' ');
      const group = groups.get(id) ?? {
        types: new Set(types),
        files: [],
        hash: createHash('sha256').update(this.version ?? ''),
      };
      group.files.push(file);
      group.hash.update('\0').update(path.basename(file)).update('\0').update(text);
      groups.set(id, group);
    }
    this.groups = [...groups.values()].map((g) => ({
      types: g.types,
      files: g.files,
      key: g.hash.digest('hex'),
    }));
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const report = this.wholeTemplates ? this.inner.validate(context) : this.validateByType(context);
    return {
      ...report,
      violations: report.violations.map((v) => ({
        ...v,
        severity: 'error',
        violatingResources: dropOrphans(v.violatingResources),
      })),
    };
  }

  private validateByType(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const templates = context.templatePaths.map((file) => ({
      file,
      body: JSON.parse(fs.readFileSync(file, 'utf8')) as Template,
    }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biomes-guard-'));
    try {
      const violations: Violation[] = [];
      const jobs: { rules: string[]; pending: Map<string, { template: string; cacheKey: string }> }[] = [];
      let n = 0;
      for (const group of this.groups) {
        // Reduced templates of this group: cached findings, or a data file for the one guard call.
        const pending = new Map<string, { template: string; cacheKey: string }>();
        for (const template of templates) {
          const entries = Object.entries(template.body.Resources ?? {});
          const named = (r: { readonly Type?: unknown }) =>
            group.types.size === 0 || group.types.has(String(r.Type).toLowerCase());
          if (!entries.some(([, r]) => named(r))) continue;
          // Other resources keep their logical id and type (rules check that a Ref or GetAtt names a
          // resource of the template, e.g. CT.LAMBDA.PR.2's SourceArn), not their properties.
          const resources: Record<string, unknown> = Object.fromEntries(
            entries.map(([id, r]) => [id, named(r) ? r : { Type: r.Type }]),
          );
          const data = JSON.stringify({ ...template.body, Resources: resources });
          const cacheKey = createHash('sha256').update(group.key).update('\0').update(data).digest('hex');
          const cached = this.cached(cacheKey);
          if (cached) {
            violations.push(...cached.map((v) => withTemplate(v, template.file)));
            continue;
          }
          const file = path.join(dir, `${n++}-${path.basename(template.file)}`);
          fs.writeFileSync(file, data);
          pending.set(file, { template: template.file, cacheKey });
        }
        if (pending.size > 0) jobs.push({ rules: group.files, pending });
      }
      this.guardCalls += jobs.length;
      const reports = runGuardJobs(
        jobs.map((j) => ({ rules: j.rules, data: [...j.pending.keys()] })),
        this.parallelism,
        context.appConstruct,
      );
      jobs.forEach((job, i) => {
        const report = reports[i]!;
        // Split the findings by data file: each reduced template is cached on its own.
        for (const [file, { template, cacheKey }] of job.pending) {
          const found = report.violations
            .map((v) => ({
              ...v,
              violatingResources: v.violatingResources.filter((r) => r.templatePath === file),
            }))
            .filter((v) => v.violatingResources.length > 0);
          this.store(cacheKey, found);
          violations.push(...found.map((v) => withTemplate(v, template)));
        }
      });
      return { success: violations.length === 0, violations };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  private cached(key: string): Violation[] | undefined {
    if (!this.cacheDir) return undefined;
    try {
      return JSON.parse(fs.readFileSync(path.join(this.cacheDir, `${key}.json`), 'utf8')) as Violation[];
    } catch {
      return undefined;
    }
  }

  private store(key: string, violations: readonly Violation[]): void {
    if (!this.cacheDir) return;
    fs.mkdirSync(this.cacheDir, { recursive: true });
    // Written whole, then renamed: a concurrent reader (another test worker) never sees half a file.
    const file = path.join(this.cacheDir, `${key}.json`);
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(violations));
    fs.renameSync(temporary, file);
  }
}

interface GuardJob {
  readonly rules: readonly string[];
  readonly data: readonly string[];
}

/** The worker thread's code: runs the plugin (and so its cfn-guard process) on each of its jobs. */
const GUARD_WORKER = `
const { workerData } = require('node:worker_threads');
let results;
try {
  const { CfnGuardValidator } = require(workerData.plugin);
  results = workerData.jobs.map(({ index, rules, data }) => {
    try {
      const report = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules }).validate({ templatePaths: data });
      return { index, report };
    } catch (e) {
      return { index, error: String((e && e.stack) || e) };
    }
  });
} catch (e) {
  results = [{ index: -1, error: String((e && e.stack) || e) }];
} finally {
  // Always answer and count, so the waiting thread never waits for a worker that failed.
  workerData.port.postMessage(results);
  Atomics.add(workerData.done, 0, 1);
  Atomics.notify(workerData.done, 0);
}
`;

/**
 * Runs the plugin on every job, `parallelism` cfn-guard processes at a time, and returns the reports
 * in job order. A validation plugin is synchronous, so the jobs run in worker threads (each calls
 * the plugin, which spawns cfn-guard and waits) while this thread waits on a shared counter and then
 * reads their answers synchronously (`receiveMessageOnPort`).
 */
function runGuardJobs(
  jobs: readonly GuardJob[],
  parallelism: number,
  appConstruct: IPolicyValidationContext['appConstruct'],
): PolicyValidationPluginReport[] {
  if (jobs.length === 0) return [];
  const run = (job: GuardJob) =>
    new CfnGuardValidator({ controlTowerRulesEnabled: false, rules: [...job.rules] }).validate({
      templatePaths: [...job.data],
      appConstruct,
    });
  const threads = Math.min(parallelism, jobs.length);
  if (threads === 1) return jobs.map(run);
  // Longest first, each to the least loaded thread (cost: rules times bytes of data).
  const cost = (job: GuardJob) => job.rules.length * job.data.reduce((n, f) => n + fs.statSync(f).size, 0);
  const shares: { load: number; jobs: { index: number; rules: string[]; data: string[] }[] }[] = Array.from(
    { length: threads },
    () => ({ load: 0, jobs: [] }),
  );
  jobs
    .map((job, index) => ({ job, index, cost: cost(job) }))
    .sort((a, b) => b.cost - a.cost)
    .forEach(({ job, index, cost: c }) => {
      const share = shares.reduce((a, b) => (b.load < a.load ? b : a));
      share.load += c;
      share.jobs.push({ index, rules: [...job.rules], data: [...job.data] });
    });
  const done = new Int32Array(new SharedArrayBuffer(4));
  const plugin = require.resolve('@cdklabs/cdk-validator-cfnguard');
  const workers = shares.map((share) => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(GUARD_WORKER, {
      eval: true,
      workerData: { plugin, jobs: share.jobs, port: port2, done },
      transferList: [port2],
    });
    return { worker, port: port1 };
  });
  try {
    // cfn-guard takes seconds; a worker that has not answered in ten minutes never will.
    const deadline = Date.now() + 10 * 60_000;
    for (let finished = Atomics.load(done, 0); finished < workers.length; finished = Atomics.load(done, 0)) {
      if (Atomics.wait(done, 0, finished, deadline - Date.now()) === 'timed-out') {
        throw new Error('cfn-guard (the Control Tower rules) did not finish within 10 minutes');
      }
    }
    const reports: PolicyValidationPluginReport[] = [];
    for (const { port } of workers) {
      const message = receiveMessageOnPort(port)?.message as
        { index: number; report?: PolicyValidationPluginReport; error?: string }[] | undefined;
      if (!message) throw new Error('a cfn-guard worker ended without an answer');
      for (const r of message) {
        if (r.error || !r.report) throw new Error(r.error ?? 'a cfn-guard job gave no report');
        reports[r.index] = r.report;
      }
    }
    return reports;
  } finally {
    for (const { worker } of workers) void worker.terminate();
  }
}

/** A violation of one template, its resources pointing at `templatePath`. */
function withTemplate(v: Violation, templatePath: string): Violation {
  return { ...v, violatingResources: v.violatingResources.map((r) => ({ ...r, templatePath })) };
}

interface Template {
  readonly Resources?: Record<string, { readonly Type?: unknown }>;
}

/** Every `.guard` file under `dir`. */
function ruleFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) return ruleFiles(file);
      return entry.name.endsWith('.guard') ? [file] : [];
    })
    .sort();
}

/**
 * The resource types a rule file names, lower-cased (some rules spell a type two ways, e.g.
 * `AWS::AutoScaling::AutoscalingGroup`). A rule naming none sees whole templates.
 */
export function ruleTypes(source: string): string[] {
  const types = [...source.matchAll(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g)].map((m) => m[0].toLowerCase());
  return [...new Set(types)].sort();
}

function dropOrphans(resources: Resources): Resources {
  const located = new Set(resources.filter((r) => r.resourceLogicalId).map((r) => r.templatePath));
  return resources.filter((r) => r.resourceLogicalId || !located.has(r.templatePath));
}
