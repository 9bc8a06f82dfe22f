import { findingsPerRule, formatReport, type ValidationReport } from '../../lib/compliance/report';

const report: ValidationReport = {
  pluginReports: [
    {
      pluginName: 'NIST.800.53.R5',
      violations: [
        {
          ruleName: 'NIST.800.53.R5-LambdaInsideVPC',
          description: 'The Lambda function is not VPC enabled - (Control IDs: AC-2(6), AC-3).',
          violatingConstructs: [
            { constructPath: 'b/Fn' },
            { constructPath: 'a/Fn' },
            { constructPath: 'a/Fn' },
          ],
        },
        {
          ruleName: 'NIST.800.53.R5-RDSInBackupPlan',
          description: 'The RDS DB instance is not in an AWS Backup plan - (Control ID: CP-9).',
          violatingConstructs: [{ constructPath: 'a/Db' }],
        },
      ],
    },
    {
      pluginName: 'AwsSolutions',
      violations: [{ ruleName: 'AwsSolutions-L1', description: 'gate', violatingConstructs: [{}] }],
    },
    {
      pluginName: 'PCI.DSS.321',
      violations: [
        {
          ruleName: 'PCI.DSS.321-LambdaInsideVPC',
          description: 'The Lambda function is not VPC enabled - (Control IDs: 1.2).',
          violatingConstructs: [{ constructPath: 'a/Fn' }],
        },
      ],
    },
  ],
};

test('findings are counted per pack and rule, each resource once, most first; other plugins are left out', () => {
  const findings = findingsPerRule(report, ['NIST.800.53.R5', 'PCI.DSS.321']);
  expect(findings.map((f) => [f.pack, f.rule, f.resources])).toEqual([
    ['NIST.800.53.R5', 'NIST.800.53.R5-LambdaInsideVPC', ['a/Fn', 'b/Fn']],
    ['NIST.800.53.R5', 'NIST.800.53.R5-RDSInBackupPlan', ['a/Db']],
    ['PCI.DSS.321', 'PCI.DSS.321-LambdaInsideVPC', ['a/Fn']],
  ]);
});

test('the text report: a total per pack, one line per rule without the control ids', () => {
  const packs = ['NIST.800.53.R5', 'HIPAA.Security'];
  const text = formatReport(findingsPerRule(report, packs), packs);
  expect(text.split('\n')).toEqual([
    'NIST.800.53.R5: 2 rules, 3 findings',
    `     2  ${'NIST.800.53.R5-LambdaInsideVPC'.padEnd(40)}  The Lambda function is not VPC enabled`,
    `     1  ${'NIST.800.53.R5-RDSInBackupPlan'.padEnd(40)}  The RDS DB instance is not in an AWS Backup plan`,
    '',
    'HIPAA.Security: 0 rules, 0 findings',
    '',
  ]);
});
