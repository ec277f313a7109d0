// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'bench/results/**', '**/.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Packages are imported through their public entry, never by reaching into a sibling's files.
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/libs/**', '**/services/**', '@hashcheck/*/src/**'], message: 'Import workspace packages through their public entry (@hashcheck/name).' },
      ] }],
    },
  },
);
