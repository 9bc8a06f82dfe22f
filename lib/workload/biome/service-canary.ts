/**
 * Canary releases of one biome's services (README "When a release goes wrong"): per service a CodeDeploy
 * deployment group on alias `live`, with two alarms on that alias (errors, throttles) that stop the
 * deployment and roll traffic back. The deploy trigger starts the deployments (lambda/deploy-trigger/
 * canary.ts); CloudFormation never does, because a pipeline-owned alias's version never changes in the
 * template (lib/workload/biome/microservice.ts).
 *
 * Why alarms on the alias and not on the new version alone: a CloudWatch alarm's dimensions are fixed
 * when it is created, and the new version's number is known only when the trigger publishes it. During
 * the canary the alias serves the old version and the new one; the trigger refuses to start while any
 * of these alarms is in ALARM, so an alarm that fires during the bake is the shift's doing, and rolling
 * back is right either way. CodeDeploy watches the alarms for the whole deployment and rolls back when
 * one is in ALARM ("Configure advanced options for a deployment group": alarms, "Roll back when alarm
 * thresholds are met"; CDK `autoRollback.deploymentInAlarm`).
 *
 * One AWS managed policy on the group's role, AWSCodeDeployRoleForLambdaLimited: CDK attaches it to
 * every Lambda deployment group's role (aws-codedeploy/lib/lambda/deployment-group.ts), and it is AWS's
 * own narrow policy for this (GetAlias/UpdateAlias, DescribeAlarms, invoking `CodeDeployHook_*` only).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CanaryRegistration } from '../../../lambda/shared/contracts';
import type { BiomeScope } from '../../../lambda/shared/scope';
import type { CanaryConfig } from '../../config';

export interface ReleaseCanaryProps {
  readonly names: BiomeScope;
  readonly canary: CanaryConfig;
  /** Where the alarms notify: the environment's alerts topic (CT.CLOUDWATCH.PR.1 wants an action). */
  readonly alertsTopicArn: string;
}

/** One per biome stack that releases by canary: the CodeDeploy application, config and role its groups share. */
export class ReleaseCanary extends Construct {
  readonly application: codedeploy.LambdaApplication;
  readonly config: codedeploy.ILambdaDeploymentConfig;
  readonly role: iam.Role;
  private readonly alarmAction: cloudwatch.IAlarmAction;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ReleaseCanaryProps,
  ) {
    super(scope, id);
    const { names, canary } = props;
    this.application = new codedeploy.LambdaApplication(this, 'Application', {
      applicationName: names.releaseApplicationName,
    });
    // CodeDeploy's canary: `percent` at once, the rest after `bakeMinutes` unless an alarm fired.
    this.config = new codedeploy.LambdaDeploymentConfig(this, 'Config', {
      trafficRouting: new codedeploy.TimeBasedCanaryTrafficRouting({
        percentage: canary.percent,
        interval: Duration.minutes(canary.bakeMinutes),
      }),
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com'),
      description: `Biomes ${names.env}/${names.biome}: CodeDeploy shifts the services' alias live`,
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        "CDK attaches AWS's narrow managed policy for Lambda deployments to every deployment group's role: alias read/update, alarm read, CodeDeployHook_* invocations only.",
    });
    this.alarmAction = new cw_actions.SnsAction(sns.Topic.fromTopicArn(this, 'Alerts', props.alertsTopicArn));
  }

  /** The service's alarms and deployment group; returns what its registration tells the deploy trigger. */
  addService(service: string, alias: lambda.Alias): CanaryRegistration {
    const { names, canary } = this.props;
    const scope = new Construct(this, `Service-${service}`);
    const alarm = (metric: 'errors' | 'throttles', source: cloudwatch.IMetric) => {
      const created = new cloudwatch.Alarm(scope, metric === 'errors' ? 'Errors' : 'Throttles', {
        alarmName: names.serviceAlarmName(service, metric),
        alarmDescription: `Biomes ${names.env}/${names.biome}: ${service} alias live ${metric}; stops its canary (CodeDeploy rolls back) and a model's bake`,
        metric: source,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No invocations is not a failure: an idle service must not block or stop a release.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(this.alarmAction);
      return created;
    };
    const minute = { period: Duration.minutes(1), statistic: 'Sum' };
    const alarms = [
      alarm('errors', alias.metricErrors(minute)),
      alarm('throttles', alias.metricThrottles(minute)),
    ];
    const group = new codedeploy.LambdaDeploymentGroup(scope, 'DeploymentGroup', {
      application: this.application,
      deploymentGroupName: service,
      alias,
      deploymentConfig: this.config,
      alarms,
      role: this.role,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    // Plain names (the ones given above), so the registration is readable JSON, not references.
    group.node.addDependency(...alarms);
    return {
      application: names.releaseApplicationName,
      deploymentGroup: service,
      alarms: (['errors', 'throttles'] as const).map((m) => names.serviceAlarmName(service, m)),
      percent: canary.percent,
      bakeMinutes: canary.bakeMinutes,
    };
  }
}
