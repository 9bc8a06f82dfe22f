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
    // Bundle size: the named `z` export drags zod's locales (~370 KB) into every Lambda bundle.
    files: ['lambda/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Use `import * as z from 'zod'`: the named `z` puts ~370 KB of locales in every bundle.",
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
