import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@scanner/source'] },
  ssr: { resolve: { conditions: ['@scanner/source'] } },
  test: {
    name: 'example-domain',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 90_000,
  },
})
