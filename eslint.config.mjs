// Lint: typescript-eslint's recommended rules everywhere, plus the Espruino rules for code that goes into the
// firmware bundle (firmware/ and hal/ except Node-side build and loader files). The build gate checks the
// emitted bundle as well; these rules point at the TypeScript line while you write it.
import tseslint from 'typescript-eslint';

const espruinoAbsentGlobals = ['Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Proxy', 'Reflect', 'BigInt', 'TextEncoder', 'TextDecoder', 'queueMicrotask'].map(
  (name) => ({ name, message: `${name} does not exist on Espruino (see ../shared/espruino.md)` }),
);

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.scratch/', 'coverage/', '.udt/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['firmware/**/*.ts', 'hal/**/*.ts'],
    ignores: ['firmware/build/**', 'hal/board-loader.ts'],
    rules: {
      'no-restricted-globals': ['error', ...espruinoAbsentGlobals],
      'no-restricted-syntax': [
        'error',
        { selector: 'LabeledStatement', message: 'labeled statements fail on Espruino' },
        { selector: "MemberExpression[object.name='Math'][property.name='pow']", message: 'Math.pow is approximate on Espruino: use shifts and multiplication' },
        { selector: "MemberExpression[object.name='Array'][property.name=/^(from|of)$/]", message: 'Array.from/Array.of do not exist on Espruino' },
        { selector: "MemberExpression[object.name='Object'][property.name='freeze']", message: 'Object.freeze does not exist on Espruino' },
        { selector: "MemberExpression[object.name='Math'][property.name=/^(trunc|imul|log10|log2|clz32|hypot|fround)$/]", message: 'absent on Espruino' },
        { selector: "MemberExpression[object.name='Number'][property.name=/^(isInteger|isFinite|MAX_SAFE_INTEGER)$/]", message: 'absent on Espruino' },
        { selector: 'FunctionDeclaration[async=true], ArrowFunctionExpression[async=true], FunctionExpression[async=true]', message: 'no async functions on Espruino' },
        { selector: 'FunctionDeclaration[generator=true], FunctionExpression[generator=true]', message: 'no generators on Espruino' },
        { selector: "ClassDeclaration[superClass.name='Error']", message: 'on Espruino a subclass of Error is not instanceof Error' },
      ],
    },
  },
  {
    files: ['test/**/fixtures/**/*.ts'],
    rules: { 'no-restricted-globals': 'off', 'no-restricted-syntax': 'off', 'no-labels': 'off' },
  },
);
