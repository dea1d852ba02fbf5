// Flat ESLint config shared by every project (`nx run-many -t lint`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', '.venv/**', 'runs/**', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // CommonJS interop with optional native packages needs require().
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Dependencies flow one way: apps are thin mains over the libraries, and nothing imports an app.
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/apps/**', '@unigrad/app-*'], message: 'nothing imports an app: move shared code into a library (libs/engine for the training loop)' }] },
      ],
    },
  },
);
