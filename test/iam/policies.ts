/**
 * The synthesized IAM of the app as a world the IAM evaluator can query: for a role, every identity
 * policy that applies to it; for a resource, its ARN, tags and resource policy; and `can()`, which
 * asks `@cloud-copilot/iam-simulate` (AGPL-3.0, a devDependency used by tests only, never shipped)
 * whether a request is allowed, the way AWS evaluates it: within one account the identity policies
 * or the resource policy may allow; across accounts both must; an explicit deny anywhere wins.
 *
 * Deliberately strict, so a test cannot pass by accident: a request the simulator rejects (unknown
 * action, a resource ARN of the wrong type), a context key the caller gives that does not apply to
 * the action (the simulator would drop it silently), or a resource whose account is unknown throws.
 */
import { type CloudAssembly } from 'aws-cdk-lib/cx-api';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { runSimulation, type EvaluationResult } from '@cloud-copilot/iam-simulate';
import type { IConstruct } from 'constructs';
import { StackResolver, type StackTemplate } from './cfn-resolve';

// Policy documents are plain JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export type Decision = EvaluationResult;

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Json[];
}

/** Who makes a request: an IAM role (its session) and the identity policies it carries. */
export interface Principal {
  /** The role's ARN (`aws:PrincipalArn`). */
  readonly arn: string;
  readonly account: string;
  /** Identity policies: inline, `AWS::IAM::Policy` and customer managed policies attached to the role. */
  readonly identityPolicies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
  /**
   * AWS managed policies attached to the role: not modelled, they allow nothing here (no Biomes role
   * relies on one; CDK's own custom-resource roles carry AWSLambdaBasicExecutionRole).
   */
  readonly awsManagedPolicies: readonly string[];
  /** The role's permissions boundary (a customer managed policy of a template), if it has one. */
  readonly boundary?: { readonly name: string; readonly policy: PolicyDocument };
}

/** A resource the evaluator knows: where it lives, its tags and its resource policy. */
export interface KnownResource {
  readonly arn: string;
  readonly account: string;
  readonly type: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Bucket, key, queue or topic policy, or a role's trust policy (for sts:AssumeRole). */
  readonly policy?: PolicyDocument;
  /** KMS keys: their aliases (`kms:ResourceAliases`). */
  readonly aliases?: readonly string[];
}

export interface CanOptions {
  /**
   * Tags of the resource for `aws:ResourceTag/*`, instead of the ones the template gives it (a
   * hypothetical resource, or a real one whose tags a test changes). `{}` means untagged.
   */
  readonly resourceTags?: Readonly<Record<string, string>>;
  /** Account of a resource the templates do not hold (an S3 ARN names none). */
  readonly resourceAccount?: string;
}

const ALLOW_EVERYTHING: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

function tagsOf(raw: Json): Record<string, string> {
  if (raw === undefined) return {};
  if (Array.isArray(raw)) {
    return Object.fromEntries(raw.map((t: { Key: string; Value: string }) => [t.Key, String(t.Value)]));
  }
  return Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

const asList = (v: Json): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The trust policies of the roles `cdk bootstrap --trust <trusted>` creates in `account`, as
 * aws-cdk's bootstrap template writes them (node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml):
 * the deploy, file- and image-publishing and lookup roles trust the account itself and the trusted
 * accounts; the CloudFormation execution role trusts only the CloudFormation service.
 */
export function bootstrapRoles(
  qualifier: string,
  account: string,
  region: string,
  trustedAccounts: readonly string[],
): KnownResource[] {
  const trusting = (name: string): KnownResource => ({
    arn: `arn:aws:iam::${account}:role/cdk-${qualifier}-${name}-${account}-${region}`,
    account,
    type: 'AWS::IAM::Role',
    tags: {},
    policy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: account } },
        ...trustedAccounts.map((t) => ({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: t } })),
      ],
    },
  });
  return [
    ...['deploy-role', 'file-publishing-role', 'image-publishing-role', 'lookup-role'].map(trusting),
    {
      arn: `arn:aws:iam::${account}:role/cdk-${qualifier}-cfn-exec-role-${account}-${region}`,
      account,
      type: 'AWS::IAM::Role',
      tags: {},
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { Service: 'cloudformation.amazonaws.com' },
          },
        ],
      },
    },
  ];
}

export class PolicyWorld {
  private readonly resolvers = new Map<string, StackResolver>();
  private readonly resources = new Map<string, KnownResource>();
  /** `<stack>/<logicalId>` -> ARN of the resources registered. */
  private readonly byLogicalId = new Map<string, string>();
  private readonly ssmIndex = new Map<string, { stack: string; logicalId: string }>();
  private readonly exportsIndex = new Map<string, { stack: string; value: Json }>();

  /** Every stack of the given cloud assemblies (stack names must be unique across them). */
  static fromAssemblies(...assemblies: CloudAssembly[]): PolicyWorld {
    return new PolicyWorld(
      assemblies.flatMap((a) =>
        a.stacks.map((s) => ({
          stackName: s.stackName,
          account: s.environment.account,
          region: s.environment.region,
          template: s.template,
        })),
      ),
    );
  }

  constructor(stacks: readonly StackTemplate[]) {
    for (const stack of stacks) {
      if (this.resolvers.has(stack.stackName)) throw new Error(`PolicyWorld: stack ${stack.stackName} twice`);
      this.resolvers.set(
        stack.stackName,
        new StackResolver(stack, {
          ssmParameter: (account, path) => this.ssmValue(account, path),
          importValue: (name) => this.importValue(name),
        }),
      );
      for (const [id, r] of Object.entries((stack.template.Resources ?? {}) as Record<string, Json>)) {
        const name = r.Properties?.Name;
        if (r.Type === 'AWS::SSM::Parameter' && typeof name === 'string') {
          this.ssmIndex.set(`${stack.account}:${name}`, { stack: stack.stackName, logicalId: id });
        }
      }
      for (const output of Object.values((stack.template.Outputs ?? {}) as Record<string, Json>)) {
        if (output.Export?.Name) {
          this.exportsIndex.set(String(output.Export.Name), { stack: stack.stackName, value: output.Value });
        }
      }
    }
    for (const resolver of this.resolvers.values()) this.registerResources(resolver);
  }

  /** The resolver of `stackName`. */
  resolver(stackName: string): StackResolver {
    const r = this.resolvers.get(stackName);
    if (!r)
      throw new Error(`PolicyWorld: no stack ${stackName} (have ${[...this.resolvers.keys()].join(', ')})`);
    return r;
  }

  private ssmValue(account: string, path: string): string {
    const found = this.ssmIndex.get(`${account}:${path}`);
    if (!found) throw new Error(`PolicyWorld: no stack of account ${account} creates SSM parameter ${path}`);
    return this.resolver(found.stack).getAtt(found.logicalId, 'Value');
  }

  private importValue(name: string): string {
    const found = this.exportsIndex.get(name);
    if (!found) throw new Error(`PolicyWorld: no stack exports ${name}`);
    return this.resolver(found.stack).resolveString(found.value);
  }

  private register(stackName: string, logicalId: string | undefined, resource: KnownResource): void {
    const existing = this.resources.get(resource.arn);
    if (existing && existing !== resource)
      throw new Error(`PolicyWorld: two resources have ARN ${resource.arn}`);
    this.resources.set(resource.arn, resource);
    if (logicalId) this.byLogicalId.set(`${stackName}/${logicalId}`, resource.arn);
  }

  private registerResources(s: StackResolver): void {
    const entries = Object.entries((s.template.Resources ?? {}) as Record<string, Json>);
    const ofType = (type: string) => entries.filter(([, r]) => r.Type === type);
    const base = (r: Json, arn: string) => ({
      arn,
      account: s.account,
      type: r.Type as string,
      tags: tagsOf(s.resolve(r.Properties?.Tags)),
    });
    const documents = (policyType: string, targetsKey: string) => {
      const byTarget = new Map<string, PolicyDocument>();
      for (const [, p] of ofType(policyType)) {
        const document = s.resolve(p.Properties.PolicyDocument) as PolicyDocument;
        for (const target of asList(s.resolve(p.Properties[targetsKey]))) {
          if (byTarget.has(target)) throw new Error(`PolicyWorld: two ${policyType} for ${target}`);
          byTarget.set(String(target), document);
        }
      }
      return byTarget;
    };
    // Resources whose policy is a resource of its own, found by the resource's Ref; the ARN of each.
    const withPolicyResource: Record<
      string,
      { policies: Map<string, PolicyDocument>; arn: (id: string) => string }
    > = {
      'AWS::S3::Bucket': {
        policies: documents('AWS::S3::BucketPolicy', 'Bucket'),
        arn: (id) => s.getAtt(id, 'Arn'),
      },
      'AWS::SQS::Queue': {
        policies: documents('AWS::SQS::QueuePolicy', 'Queues'),
        arn: (id) => s.getAtt(id, 'Arn'),
      },
      'AWS::SNS::Topic': {
        policies: documents('AWS::SNS::TopicPolicy', 'Topics'),
        arn: (id) => String(s.ref(id)),
      },
    };
    const aliases = new Map<string, string[]>();
    for (const [, a] of ofType('AWS::KMS::Alias')) {
      const target = s.resolveString(a.Properties.TargetKeyId);
      const keyId = target.startsWith('arn:') ? target.split('/').pop()! : target;
      aliases.set(keyId, [...(aliases.get(keyId) ?? []), s.resolveString(a.Properties.AliasName)]);
    }
    const functionTags = new Map<string, Record<string, string>>();

    for (const [id, r] of entries) {
      switch (r.Type) {
        case 'AWS::KMS::Key':
          this.register(s.stackName, id, {
            ...base(r, s.getAtt(id, 'Arn')),
            policy: s.resolve(r.Properties.KeyPolicy) as PolicyDocument,
            aliases: aliases.get(String(s.ref(id))) ?? [],
          });
          break;
        case 'AWS::S3::Bucket':
        case 'AWS::SQS::Queue':
        case 'AWS::SNS::Topic': {
          const { policies, arn } = withPolicyResource[r.Type as string]!;
          const policy = policies.get(String(s.ref(id)));
          this.register(s.stackName, id, { ...base(r, arn(id)), ...(policy ? { policy } : {}) });
          break;
        }
        case 'AWS::IAM::Role':
          this.register(s.stackName, id, {
            ...base(r, s.getAtt(id, 'Arn')),
            policy: s.resolve(r.Properties.AssumeRolePolicyDocument) as PolicyDocument,
          });
          break;
        case 'AWS::Lambda::Function': {
          const resource = base(r, s.getAtt(id, 'Arn'));
          functionTags.set(resource.arn, resource.tags);
          this.register(s.stackName, id, resource);
          break;
        }
        case 'AWS::SSM::Parameter': {
          const name = String(s.ref(id));
          this.register(
            s.stackName,
            id,
            base(r, `arn:aws:ssm:${s.region}:${s.account}:parameter/${name.replace(/^\//, '')}`),
          );
          break;
        }
        case 'AWS::SecretsManager::Secret':
        case 'AWS::StepFunctions::StateMachine':
          this.register(s.stackName, id, base(r, String(s.ref(id))));
          break;
        case 'AWS::DynamoDB::Table':
        case 'AWS::DynamoDB::GlobalTable':
          this.register(s.stackName, id, base(r, s.getAtt(id, 'Arn')));
          break;
        default:
          break;
      }
    }
    // Lambda tags apply to the function; its aliases and versions are authorized with them.
    for (const [id, r] of entries) {
      if (r.Type !== 'AWS::Lambda::Alias' && r.Type !== 'AWS::Lambda::Version') continue;
      const arn = String(s.ref(id));
      const functionArn = arn.slice(0, arn.lastIndexOf(':'));
      this.register(s.stackName, id, {
        arn,
        account: s.account,
        type: r.Type as string,
        tags: functionTags.get(functionArn) ?? {},
      });
    }
  }

  /** Adds a resource the templates do not hold (for example the CDK bootstrap roles of an account). */
  addResource(resource: KnownResource): void {
    this.register('', undefined, resource);
  }

  /** The resource with `arn`, if the world knows it. */
  resource(arn: string): KnownResource | undefined {
    return this.resources.get(arn);
  }

  /** ARN of the resource `logicalId` of `stackName`. */
  arn(stackName: string, logicalId: string): string {
    const arn = this.byLogicalId.get(`${stackName}/${logicalId}`);
    if (!arn) throw new Error(`PolicyWorld: ${stackName} has no resource ${logicalId} the evaluator models`);
    return arn;
  }

  /** ARN of a construct's resource (an L2 construct or its L1). */
  arnOf(construct: IConstruct): string {
    const { stack, logicalId } = PolicyWorld.locate(construct);
    return this.arn(stack, logicalId);
  }

  /** The stack name and logical id of a construct's CloudFormation resource. */
  static locate(construct: IConstruct): { stack: string; logicalId: string } {
    const cfn = CfnResource.isCfnResource(construct) ? construct : construct.node.defaultChild;
    if (!cfn || !CfnResource.isCfnResource(cfn)) {
      throw new Error(`PolicyWorld: ${construct.node.path} has no CloudFormation resource`);
    }
    const stack = Stack.of(cfn);
    return { stack: stack.stackName, logicalId: stack.resolve(cfn.logicalId) as string };
  }

  /** The role `logicalId` of `stackName`, with every identity policy attached to it in its account. */
  role(stackName: string, logicalId: string): Principal {
    const s = this.resolver(stackName);
    const role = s.resource(logicalId);
    if (role.Type !== 'AWS::IAM::Role')
      throw new Error(`PolicyWorld: ${stackName}/${logicalId} is a ${role.Type}`);
    const boundaryArn =
      role.Properties?.PermissionsBoundary === undefined
        ? undefined
        : s.resolveString(role.Properties.PermissionsBoundary);
    const roleName = String(s.ref(logicalId));
    const arn = s.getAtt(logicalId, 'Arn');
    const identityPolicies: { name: string; policy: PolicyDocument }[] = [];
    for (const inline of asList(s.resolve(role.Properties?.Policies))) {
      identityPolicies.push({ name: `${logicalId}/${inline.PolicyName}`, policy: inline.PolicyDocument });
    }
    const managedArns = new Set(asList(s.resolve(role.Properties?.ManagedPolicyArns)).map(String));
    for (const other of this.resolvers.values()) {
      if (other.account !== s.account) continue;
      for (const [id, r] of Object.entries((other.template.Resources ?? {}) as Record<string, Json>)) {
        const attached =
          (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
          asList(other.resolve(r.Properties.Roles)).includes(roleName);
        const managed =
          r.Type === 'AWS::IAM::ManagedPolicy' && managedArns.has(other.getAtt(id, 'PolicyArn'));
        if (managed) managedArns.delete(other.getAtt(id, 'PolicyArn'));
        if (attached || managed) {
          identityPolicies.push({
            name: `${other.stackName}/${id}`,
            policy: other.resolve(r.Properties.PolicyDocument) as PolicyDocument,
          });
        }
      }
    }
    let boundary: Principal['boundary'];
    if (boundaryArn !== undefined) {
      boundary = this.managedPolicy(s.account, boundaryArn);
      if (!boundary) {
        throw new Error(
          `PolicyWorld: ${stackName}/${logicalId} has permissions boundary ${boundaryArn}, which no template of account ${s.account} defines`,
        );
      }
    }
    const awsManagedPolicies = [...managedArns];
    const unknown = awsManagedPolicies.filter((m) => !m.startsWith('arn:aws:iam::aws:policy/'));
    if (unknown.length > 0)
      throw new Error(
        `PolicyWorld: ${logicalId} has managed policies no template defines: ${unknown.join(', ')}`,
      );
    return {
      arn,
      account: s.account,
      identityPolicies,
      awsManagedPolicies,
      ...(boundary ? { boundary } : {}),
    };
  }

  /** The customer managed policy with `policyArn` in `account`, from whichever template defines it. */
  managedPolicy(account: string, policyArn: string): { name: string; policy: PolicyDocument } | undefined {
    for (const other of this.resolvers.values()) {
      if (other.account !== account) continue;
      for (const [id, r] of Object.entries((other.template.Resources ?? {}) as Record<string, Json>)) {
        if (r.Type === 'AWS::IAM::ManagedPolicy' && other.getAtt(id, 'PolicyArn') === policyArn) {
          return {
            name: `${other.stackName}/${id}`,
            policy: other.resolve(r.Properties.PolicyDocument) as PolicyDocument,
          };
        }
      }
    }
    return undefined;
  }

  /**
   * The role of a construct: an `iam.Role`, or anything with a `role` (a Lambda function, a
   * CodeBuild project, a state machine).
   */
  roleOf(construct: IConstruct): Principal {
    const role = (construct as { role?: IConstruct }).role ?? construct;
    const { stack, logicalId } = PolicyWorld.locate(role);
    return this.role(stack, logicalId);
  }

  /** A principal the templates do not define, with the identity policies given. */
  static principal(arn: string, ...policies: PolicyDocument[]): Principal {
    const account = accountOfArn(arn);
    if (!account) throw new Error(`PolicyWorld: no account in principal ${arn}`);
    return {
      arn,
      account,
      identityPolicies: policies.map((policy, i) => ({ name: `given-${i}`, policy })),
      awsManagedPolicies: [],
    };
  }

  /**
   * The same principal with an identity that allows everything: what it gets then is what the
   * resource's own policy (and its explicit denies) decide.
   */
  static unrestricted(principal: Principal): Principal {
    return PolicyWorld.principal(principal.arn, ALLOW_EVERYTHING);
  }

  /** Where a request for `resourceArn` is authorized: the resource holding the policy and tags. */
  private resourceFor(resourceArn: string): KnownResource | undefined {
    const exact = this.resources.get(resourceArn);
    if (exact) return exact;
    const s3 = /^arn:aws:s3:::([^/]+)\/.+$/.exec(resourceArn);
    if (s3) {
      const bucket = this.resources.get(`arn:aws:s3:::${s3[1]}`);
      // Objects carry no bucket tags (S3 has s3:ExistingObjectTag for those).
      return bucket ? { ...bucket, arn: resourceArn, tags: {} } : undefined;
    }
    return undefined;
  }

  /**
   * What IAM answers to `principal` doing `action` on `resourceArn`, with the request's condition
   * `context` (the real keys: `aws:ResourceTag/<key>` comes from the template unless `options`
   * replaces the tags, `ssm:Overwrite`, `s3:prefix`, `kms:GrantIsForAWSResource`, ...).
   */
  async can(
    principal: Principal,
    action: string,
    resourceArn: string,
    context: Readonly<Record<string, string | string[]>> = {},
    options: CanOptions = {},
  ): Promise<Decision> {
    const resource = this.resourceFor(resourceArn);
    const resourceAccount = options.resourceAccount ?? resource?.account ?? accountOfArn(resourceArn);
    if (!resourceAccount) {
      throw new Error(
        `PolicyWorld: account of ${resourceArn} unknown (not in the templates): pass resourceAccount`,
      );
    }
    const isAssume = /^sts:(AssumeRole|TagSession)/.test(action);
    const resourcePolicy =
      resource?.policy && (resource.type !== 'AWS::IAM::Role' || isAssume) ? resource.policy : undefined;
    const tags = options.resourceTags ?? resource?.tags ?? {};
    const roleName = principal.arn.split('/').pop()!;
    const derived: Record<string, string | string[]> = {
      'aws:PrincipalArn': principal.arn,
      'aws:PrincipalAccount': principal.account,
      'aws:PrincipalIsAWSService': 'false',
      'aws:PrincipalType': 'AssumedRole',
      'aws:SecureTransport': 'true',
      ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
      ...(action.startsWith('kms:') ? { 'kms:CallerAccount': principal.account } : {}),
      ...(action.startsWith('kms:') && resource?.aliases?.length
        ? { 'kms:ResourceAliases': [...resource.aliases] }
        : {}),
    };
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:sts::${principal.account}:assumed-role/${roleName}/iam-test`,
          action,
          resource: { resource: resourceArn, accountId: resourceAccount },
          contextVariables: { ...derived, ...context },
        },
        identityPolicies: principal.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
        ...(principal.boundary ? { permissionBoundaryPolicies: [principal.boundary] } : {}),
      },
      {},
    );
    if (result.resultType === 'error') {
      throw new Error(`iam-simulate refused ${action} on ${resourceArn}: ${JSON.stringify(result.errors)}`);
    }
    if (result.resultType !== 'single') {
      throw new Error(`iam-simulate: ${action} on ${resourceArn} is not one resource (${result.resultType})`);
    }
    const explicit = new Set(
      [
        ...Object.keys(context),
        ...Object.keys(options.resourceTags ?? {}).map((k) => `aws:ResourceTag/${k}`),
      ].map((k) => k.toLowerCase()),
    );
    const ignored = (result.result.ignoredContextKeys ?? []).filter((k) => explicit.has(k.toLowerCase()));
    if (ignored.length > 0) {
      throw new Error(
        `context keys ${ignored.join(', ')} do not apply to ${action} on ${resourceArn} (iam-data): the test would prove nothing`,
      );
    }
    return result.overallResult;
  }
}
