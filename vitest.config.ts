import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['@scanner/source'] },
  ssr: { resolve: { conditions: ['@scanner/source'] } },
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
    // Most test files spend their time waiting on child processes, sockets and timers, so more
    // files than cores run at once (vitest's default is one per core minus one: a single worker
    // on a 2-core machine). Every test keeps a timeout well above its time at load 10.
    maxWorkers: Math.max(4, availableParallelism() - 1),
  },
})
