import { configDefaults, defineConfig } from 'vitest/config';

// `ratchet dev --cluster`'s own test needs the cluster's binaries, which only the cluster run provisions.
const cluster = process.env.RATCHET_TEST_TEMPORAL === 'cluster';

// Three projects: `unit` needs nothing but this process (pure functions, in-process ONNX Runtime sessions);
// `integration` crosses process boundaries and gets a real Temporal dev server and S3 server from the global setup;
// `oracle` checks the engine against PyTorch and scikit-learn, from a Python venv its global setup builds.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // ORT sessions and Temporal workers are heavy; two cores do best with two test files at a time.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/engine/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: cluster
            ? configDefaults.exclude
            : [...configDefaults.exclude, 'test/integration/stack-dev-cluster.test.ts'],
          globalSetup: ['test/setup/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'oracle', include: ['test/oracle/**/*.test.ts'], globalSetup: ['test/setup/oracle-setup.ts'] },
      },
    ],
  },
});
