import * as z from 'zod/mini';
import { booleanPropertySchema, envNameSchema, parseResourceProperties } from '../../../lambda/shared/issues';

const schema = z.object({ Env: envNameSchema, Protected: booleanPropertySchema('the flag') });
const parse = (raw: unknown) => parseResourceProperties(schema, raw, 'Custom::Test');

describe('envNameSchema: the environment-name grammar, not a fixed list', () => {
  test.each(['dev', 'staging', 'prod', 'qa', 'perf2'])('accepts %s', (env) => {
    expect(envNameSchema.safeParse(env).success).toBe(true);
  });

  test.each([
    ['Prod', /"Prod" must match/],
    ['p', /"p" must match/],
    ['toolongname', /must match/],
    ['devops', /"devops" is reserved/],
    ['shared', /"shared" is reserved/],
  ])('refuses %s with the rule it breaks, naming the property', (env, rule) => {
    expect(() => parse({ Env: env, Protected: 'false' })).toThrow(rule);
    expect(() => parse({ Env: env, Protected: 'false' })).toThrow(
      /Invalid Custom::Test properties:\n {2}- Env: /,
    );
  });
});

describe('booleanPropertySchema: CloudFormation passes strings', () => {
  test('"true" and "false" parse', () => {
    expect(parse({ Env: 'dev', Protected: 'true' })).toEqual({ Env: 'dev', Protected: 'true' });
    expect(parse({ Env: 'dev', Protected: 'false' })).toEqual({ Env: 'dev', Protected: 'false' });
  });

  test.each([undefined, '', 'TRUE', 'yes', '1', true, false])(
    '%j is refused, naming the property',
    (value) => {
      expect(() => parse({ Env: 'dev', Protected: value })).toThrow(
        /- Protected: must be the string "true" or "false" \(the flag\)/,
      );
    },
  );
});
