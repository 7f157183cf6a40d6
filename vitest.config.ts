import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'core/**/*.test.ts',
      'wasm/**/*.test.ts',
      'cli/**/*.test.ts',
      'test/**/*.test.ts',
      'worker/**/*.test.ts',
      'scripts/**/*.test.ts',
      'origin/**/*.test.ts',
      'models/**/*.test.ts',
      'ops/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/*.workerd.test.ts'],
    // Generous: the statistical suites share two cores with each other in CI.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // The suite is CPU-bound (calibration, power): use both cores of the CI machine.
    maxWorkers: 2,
  },
})
