import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const loads = fileURLToPath(new URL('./fixtures/loads.mjs', import.meta.url))
const packageDir = fileURLToPath(new URL('..', import.meta.url))

/** The frameworks a fresh Node process loads when it imports `specifier` (from source). */
async function frameworksLoadedBy(specifier: string): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    ['--conditions=@scanner/source', '--import', 'tsx', loads, specifier],
    { cwd: packageDir },
  )
  const urls = JSON.parse(stdout) as string[]
  expect(urls.some((url) => url.includes('/src/'))).toBe(true)
  const found = new Set<string>()
  for (const url of urls) {
    const match = /\/node_modules\/(express|fastify|hono)\//.exec(url)
    if (match) found.add(match[1]!)
  }
  return [...found].sort()
}

describe('importing one entry point loads no other framework', () => {
  it.each([
    ['@scanner/health', []],
    ['@scanner/health/express', ['express']],
    ['@scanner/health/fastify', []],
    ['@scanner/health/hono', ['hono']],
  ])('%s loads %j', async (specifier, expected) => {
    expect(await frameworksLoadedBy(specifier)).toEqual(expected)
  })
})
