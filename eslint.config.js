import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // Guest code: scripts run inside the action sandbox, sharing one scope (the prelude function);
    // tsc checks their names across files (lib/sandbox/guest/tsconfig.json).
    files: ['lib/sandbox/guest/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      // The guest defines these itself: they are not the host's.
      globals: {
        URL: 'off',
        setTimeout: 'off',
        clearTimeout: 'off',
        console: 'off',
        process: 'off',
        Buffer: 'off',
      },
    },
    rules: {
      'no-undef': 'off',
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { vars: 'local', args: 'none', caughtErrors: 'none' },
      ],
      'no-console': 'off',
    },
  },
  {
    files: ['test/**', 'examples/**', 'bench/**'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
