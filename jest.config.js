/** Jest in ESM mode (NestJS 12 is ESM-only): ts-jest compiles TypeScript per file, `#libs/*` maps to sources. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  moduleNameMapper: {
    '^#libs/(.*)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // An ES module that @fastify/static (CommonJS) requires for reply.download(), which the API never calls:
    // Node loads it as it is, Jest (on this Node) cannot require an ES module.
    '^content-disposition$': '<rootDir>/libs/testing/src/content-disposition.cjs',
  },
  testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts', '<rootDir>/{apps,libs}/**/*.e2e-spec.ts'],
  // The shared Postgres and Redis; built by `npm run build`, which `npm test` runs first.
  globalSetup: '<rootDir>/dist/libs/testing/src/global-setup.js',
  globalTeardown: '<rootDir>/dist/libs/testing/src/global-teardown.js',
  testTimeout: 60_000,
  maxWorkers: 2,
};
