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
      '**/*.js',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
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
    // Nothing below bin/ reads context or the process environment (DESIGN.md "Configuration");
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
