import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@scanner/source'] },
  ssr: { resolve: { conditions: ['@scanner/source'] } },
  test: {
    name: 'example-express-api',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 90_000,
    // Set-ups start servers and child processes: as slow as a test on a loaded machine.
    hookTimeout: 90_000,
  },
})
