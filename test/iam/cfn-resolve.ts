/**
 * Turns the CloudFormation intrinsics of a synthesized template into the concrete strings
 * CloudFormation would produce, with deterministic fakes for generated names (the policy tests
 * evaluate resolved policies with a real IAM evaluator, so every ARN must be a plain string).
 *
 * Generated physical names are `<stack>-<logicalId>` (lowercased for buckets): unique per stack, so
 * two biome stacks with the same logical ids never share a fake name (real CloudFormation adds a
 * random suffix instead). Anything this resolver does not know throws, naming the intrinsic, the
 * resource type or the attribute: a template change must fail the suite, never make a policy
 * silently resolve to something the tests do not mean.
 */
import { createHash } from 'node:crypto';

// Templates are walked generically.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface StackTemplate {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly template: Json;
}

/** What a stack resolves from outside itself (template parameters, exports). */
export interface ResolveContext {
  /**
   * Value of an `AWS::SSM::Parameter::Value<...>` template parameter: the SSM parameter at `path` in
   * `account` (for Biomes, one the shared stack creates).
   */
  readonly ssmParameter?: (account: string, path: string) => string;
  /** Value of `Fn::ImportValue` of `exportName`. */
  readonly importValue?: (exportName: string) => string;
}

export class UnresolvableError extends Error {
  constructor(stackName: string, what: string) {
    super(`cfn-resolve (${stackName}): ${what}`);
    this.name = 'UnresolvableError';
  }
}

/** Removed from arrays and objects: `{ Ref: AWS::NoValue }`. */
const NO_VALUE = Symbol('AWS::NoValue');

const PARTITION = 'aws';
const URL_SUFFIX = 'amazonaws.com';

/** A KMS key id-shaped, deterministic value. */
function fakeUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class StackResolver {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly template: Json;
  private readonly resources: Record<string, Json>;

  constructor(
    stack: StackTemplate,
    private readonly context: ResolveContext = {},
  ) {
    this.stackName = stack.stackName;
    this.account = stack.account;
    this.region = stack.region;
    this.template = stack.template;
    this.resources = (stack.template.Resources ?? {}) as Record<string, Json>;
  }

  private fail(what: string): never {
    throw new UnresolvableError(this.stackName, what);
  }

  /** The template's resource `logicalId` (throws if there is none). */
  resource(logicalId: string): Json {
    const r = this.resources[logicalId];
    if (!r) this.fail(`no resource or parameter "${logicalId}"`);
    return r;
  }

  /** Resolves every intrinsic in `value`, deeply. */
  resolve(value: Json): Json {
    const out = this.walk(value);
    return out === NO_VALUE ? undefined : out;
  }

  /** Resolves `value` and insists on a string. */
  resolveString(value: Json): string {
    const out = this.resolve(value);
    if (typeof out !== 'string') this.fail(`expected a string, got ${JSON.stringify(out)}`);
    return out;
  }

  private arn(service: string, resource: string, opts: { region?: string; account?: string } = {}): string {
    return `arn:${PARTITION}:${service}:${opts.region ?? this.region}:${opts.account ?? this.account}:${resource}`;
  }

  /** The physical name CloudFormation would generate, or the one the template sets. */
  private physicalName(logicalId: string, nameProperty: string | undefined, lower = false): string {
    const props = this.resource(logicalId).Properties ?? {};
    if (nameProperty && props[nameProperty] !== undefined) return this.resolveString(props[nameProperty]);
    const name = `${this.stackName}-${logicalId}`;
    return lower ? name.toLowerCase() : name;
  }

  private walk(value: Json): Json {
    if (Array.isArray(value)) {
      return value.map((v) => this.walk(v)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    const first = keys[0];
    if (keys.length === 1 && first !== undefined && (first === 'Ref' || first.startsWith('Fn::'))) {
      return this.intrinsic(first, value[first]);
    }
    const out: Record<string, Json> = {};
    for (const k of keys) {
      const v = this.walk(value[k]);
      if (v !== NO_VALUE) out[k] = v;
    }
    return out;
  }

  private intrinsic(name: string, arg: Json): Json {
    switch (name) {
      case 'Ref':
        if (typeof arg !== 'string') this.fail(`Ref of a non-string ${JSON.stringify(arg)}`);
        return this.ref(arg);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/s);
        return this.getAtt(this.resolveString(id), this.resolveString(attr));
      }
      case 'Fn::Join': {
        const [sep, list] = arg as [string, Json[]];
        const parts = this.walk(list);
        if (!Array.isArray(parts) || parts.some((p) => typeof p !== 'string')) {
          this.fail(`Fn::Join of non-strings ${JSON.stringify(parts)}`);
        }
        return (parts as string[]).join(sep);
      }
      case 'Fn::Sub':
        return this.sub(arg);
      case 'Fn::Select': {
        const [index, list] = arg as [Json, Json];
        const items = this.walk(list);
        const i = Number(this.walk(index));
        if (!Array.isArray(items) || !Number.isInteger(i) || i < 0 || i >= items.length) {
          this.fail(`Fn::Select ${i} out of ${JSON.stringify(items)}`);
        }
        return items[i];
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, Json];
        return this.resolveString(source).split(sep);
      }
      case 'Fn::ImportValue': {
        const exportName = this.resolveString(arg);
        if (!this.context.importValue) this.fail(`Fn::ImportValue "${exportName}" with no exports given`);
        return this.context.importValue(exportName);
      }
      default:
        return this.fail(`unsupported intrinsic ${name}: ${JSON.stringify(arg)}`);
    }
  }

  private pseudo(name: string): string | typeof NO_VALUE | undefined {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Partition':
        return PARTITION;
      case 'AWS::URLSuffix':
        return URL_SUFFIX;
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return this.arn('cloudformation', `stack/${this.stackName}/${fakeUuid(this.stackName)}`);
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return name.startsWith('AWS::') ? this.fail(`unsupported pseudo parameter ${name}`) : undefined;
    }
  }

  private sub(arg: Json): string {
    const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, Json>];
    if (typeof text !== 'string') this.fail(`Fn::Sub of a non-string ${JSON.stringify(text)}`);
    return text.replace(/\$\{([^}]*)\}/g, (_m, expr: string) => {
      if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
      if (vars[expr] !== undefined) return this.resolveString(vars[expr]);
      const dot = expr.indexOf('.');
      if (dot > 0 && !expr.startsWith('AWS::')) return this.getAtt(expr.slice(0, dot), expr.slice(dot + 1));
      const value = this.ref(expr);
      if (typeof value !== 'string') this.fail(`Fn::Sub \${${expr}} is not a string`);
      return value;
    });
  }

  /** `{ Ref: logicalId }`: a pseudo parameter, a template parameter or a resource. */
  ref(logicalId: string): Json {
    const pseudo = this.pseudo(logicalId);
    if (pseudo !== undefined) return pseudo;
    const parameter = this.template.Parameters?.[logicalId];
    if (parameter) return this.parameter(logicalId, parameter);
    const r = this.resource(logicalId);
    const type = r.Type as string;
    const props = r.Properties ?? {};
    switch (type) {
      case 'AWS::IAM::Role':
        return this.physicalName(logicalId, 'RoleName');
      case 'AWS::IAM::ManagedPolicy':
        return this.getAtt(logicalId, 'PolicyArn');
      case 'AWS::IAM::Policy':
        return this.physicalName(logicalId, 'PolicyName');
      case 'AWS::S3::Bucket':
        return this.physicalName(logicalId, 'BucketName', true);
      case 'AWS::KMS::Key':
        return fakeUuid(`${this.account}/${this.stackName}/${logicalId}`);
      case 'AWS::KMS::Alias':
        return this.resolveString(props.AliasName);
      case 'AWS::Lambda::Function':
        return this.physicalName(logicalId, 'FunctionName');
      case 'AWS::Lambda::Alias':
        return `${this.functionArn(props.FunctionName)}:${this.resolveString(props.Name)}`;
      case 'AWS::Lambda::Version':
        return `${this.functionArn(props.FunctionName)}:1`;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return this.physicalName(logicalId, 'TableName');
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.${URL_SUFFIX}/${this.account}/${this.physicalName(logicalId, 'QueueName')}`;
      case 'AWS::SNS::Topic':
        return this.arn('sns', this.physicalName(logicalId, 'TopicName'));
      case 'AWS::RDS::DBCluster':
        return this.physicalName(logicalId, 'DBClusterIdentifier', true);
      case 'AWS::SecretsManager::Secret':
        return this.arn('secretsmanager', `secret:${this.physicalName(logicalId, 'Name')}-AbCdEf`);
      case 'AWS::SecretsManager::SecretTargetAttachment':
        return this.resolveString(props.SecretId);
      case 'AWS::StepFunctions::StateMachine':
        return this.arn('states', `stateMachine:${this.physicalName(logicalId, 'StateMachineName')}`);
      case 'AWS::SSM::Parameter':
        return this.physicalName(logicalId, 'Name');
      case 'AWS::Logs::LogGroup':
        return this.physicalName(logicalId, 'LogGroupName');
      case 'AWS::CodeBuild::Project':
        return this.physicalName(logicalId, 'Name');
      case 'AWS::CodePipeline::Pipeline':
        return this.physicalName(logicalId, 'Name');
      case 'AWS::Events::Rule':
        return this.physicalName(logicalId, 'Name');
      case 'AWS::SageMaker::Endpoint':
        return this.arn(
          'sagemaker',
          `endpoint/${this.physicalName(logicalId, 'EndpointName').toLowerCase()}`,
        );
      case 'AWS::EC2::VPC':
        return `vpc-${fakeUuid(`${this.stackName}/${logicalId}`).slice(0, 17).replace(/-/g, '')}`;
      case 'AWS::EC2::SecurityGroup':
        return `sg-${fakeUuid(`${this.stackName}/${logicalId}`).slice(0, 17).replace(/-/g, '')}`;
      default:
        return this.fail(`Ref of ${logicalId}: unsupported resource type ${type}`);
    }
  }

  private functionArn(functionName: Json): string {
    const name = this.resolveString(functionName);
    return name.startsWith('arn:') ? name : this.arn('lambda', `function:${name}`);
  }

  private parameter(logicalId: string, parameter: Json): string {
    const type = String(parameter.Type);
    if (type.startsWith('AWS::SSM::Parameter::Value<')) {
      if (!this.context.ssmParameter) this.fail(`parameter ${logicalId} (${type}) with no SSM values given`);
      return this.context.ssmParameter(this.account, String(parameter.Default));
    }
    if (parameter.Default !== undefined) return String(parameter.Default);
    return this.fail(`parameter ${logicalId} (${type}) has no value`);
  }

  /** `{ Fn::GetAtt: [logicalId, attr] }` for the attributes the policies use. */
  getAtt(logicalId: string, attr: string): string {
    const r = this.resource(logicalId);
    const type = r.Type as string;
    const key = `${type}.${attr}`;
    const name = () => String(this.ref(logicalId));
    switch (key) {
      case 'AWS::IAM::Role.Arn':
        return `arn:${PARTITION}:iam::${this.account}:role/${name()}`;
      case 'AWS::IAM::Role.RoleId':
        return `AROA${fakeUuid(logicalId).replace(/-/g, '').slice(0, 17).toUpperCase()}`;
      case 'AWS::IAM::ManagedPolicy.PolicyArn':
        return `arn:${PARTITION}:iam::${this.account}:policy/${this.physicalName(logicalId, 'ManagedPolicyName')}`;
      case 'AWS::S3::Bucket.Arn':
        return `arn:${PARTITION}:s3:::${name()}`;
      case 'AWS::S3::Bucket.DomainName':
        return `${name()}.s3.${URL_SUFFIX}`;
      case 'AWS::S3::Bucket.RegionalDomainName':
        return `${name()}.s3.${this.region}.${URL_SUFFIX}`;
      case 'AWS::KMS::Key.Arn':
        return this.arn('kms', `key/${name()}`);
      case 'AWS::KMS::Key.KeyId':
        return name();
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${name()}`);
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
        return this.arn('dynamodb', `table/${name()}`);
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return this.arn('dynamodb', `table/${name()}/stream/1970-01-01T00:00:00.000`);
      case 'AWS::SQS::Queue.Arn':
        return this.arn('sqs', this.physicalName(logicalId, 'QueueName'));
      case 'AWS::SQS::Queue.QueueName':
        return this.physicalName(logicalId, 'QueueName');
      case 'AWS::SQS::Queue.QueueUrl':
        return name();
      case 'AWS::SNS::Topic.TopicArn':
        return name();
      case 'AWS::SNS::Topic.TopicName':
        return this.physicalName(logicalId, 'TopicName');
      case 'AWS::RDS::DBCluster.DBClusterArn':
        return this.arn('rds', `cluster:${name()}`);
      case 'AWS::RDS::DBCluster.Endpoint.Address':
        return `${name()}.cluster-fake.${this.region}.rds.${URL_SUFFIX}`;
      case 'AWS::RDS::DBCluster.Endpoint.Port':
        return '5432';
      case 'AWS::SecretsManager::Secret.Id':
        return name();
      case 'AWS::StepFunctions::StateMachine.Arn':
        return name();
      case 'AWS::StepFunctions::StateMachine.Name':
        return this.physicalName(logicalId, 'StateMachineName');
      case 'AWS::SSM::Parameter.Value':
        return this.resolveString(r.Properties?.Value);
      case 'AWS::Logs::LogGroup.Arn':
        return this.arn('logs', `log-group:${name()}:*`);
      case 'AWS::CodeBuild::Project.Arn':
        return this.arn('codebuild', `project/${name()}`);
      case 'AWS::Events::Rule.Arn':
        return this.arn('events', `rule/${name()}`);
      case 'AWS::SageMaker::Endpoint.EndpointName':
        return this.physicalName(logicalId, 'EndpointName');
      case 'AWS::EC2::VPC.DefaultSecurityGroup':
        return `sg-${fakeUuid(`${this.stackName}/${logicalId}/default`).slice(0, 17).replace(/-/g, '')}`;
      case 'AWS::EC2::SecurityGroup.GroupId':
        return name();
      default:
        return this.fail(`Fn::GetAtt ${logicalId}.${attr}: unsupported attribute of ${type}`);
    }
  }
}
