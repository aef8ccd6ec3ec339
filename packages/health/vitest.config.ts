import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@scanner/source'] },
  ssr: { resolve: { conditions: ['@scanner/source'] } },
  test: {
    name: 'health',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
    testTimeout: 60_000,
    // Set-ups start servers and child processes: as slow as a test on a loaded machine.
    hookTimeout: 60_000,
  },
})
