import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Promise-returning interfaces (stores, sinks, handles) are implemented by async methods that
      // need no await: `async` is what turns a synchronous throw into the rejection callers expect.
      '@typescript-eslint/require-await': 'off',
      // Rethrowing what a `catch` caught (typed `unknown`) passes it on unchanged, as it should.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
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
    // Plain JavaScript is in no TypeScript project: the guest has its own tsconfig (checked by
    // `npm run typecheck`), build scripts, this file and loader hooks have none.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
  {
    files: ['test/**', 'examples/**', 'bench/**'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // supertest's `res.body` and JSON.parse are typed `any`; tests read them to compare with chai's
    // deep equality, which checks the shape at run time.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
