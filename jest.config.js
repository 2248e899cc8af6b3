/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleNameMapper: { '^@ledger/(domain|event-store|ledger|projections|audit|runtime)$': '<rootDir>/libs/$1/src', '^@ledger/(event-store|projections|audit)/(.+)$': '<rootDir>/libs/$1/src/$2' },
  // A test, or a hook, that takes longer fails; the code under test yields to the event loop, so
  // the timer can fire (see Projector.catchUp).
  testTimeout: 30000,
  // A test that failed may leave a loop or a server running: the run still ends, with Jest's
  // "Force exiting" warning, and the reporter below lists what was left open.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/running-tests-reporter.js'],
};
