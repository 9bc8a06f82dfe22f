// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      'dist/',
      '.bundles/',
      'coverage/',
      'bench/.work/',
      'tools/',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/consistent-type-assertions': [
        'error',
        { assertionStyle: 'as', objectLiteralTypeAssertions: 'never' },
      ],
      'no-console': 'off',
    },
  },
  {
    // Synthesized templates, raw cdk.json config and jest's asymmetric matchers (`expect.stringMatching`
    // and friends) are `any`: synthesized templates are untyped JSON; the assertions give them shape.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Bundle size: classic zod costs ~90 KB in every Lambda bundle, zod/mini ~20 KB (same checks).
    files: ['lambda/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'zod',
              message: "Lambda code uses 'zod/mini' (see lambda/shared/issues.ts for messages).",
            },
          ],
        },
      ],
    },
  },
  {
    // Nothing below bin/ reads context or the process environment (docs/design.md "Configuration");
    // Lambda handlers read their own environment through each function's env module.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Only bin/ reads the environment; take it from the config.',
        },
      ],
    },
  },
);
