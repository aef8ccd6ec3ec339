import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['@scanner/source'] },
  ssr: { resolve: { conditions: ['@scanner/source'] } },
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
  },
})
