import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { configMarkdown } from '../../src/cli/docs.js'

const docsPath = fileURLToPath(new URL('../../README.md', import.meta.url))

describe('README.md (CLI section)', () => {
  it('holds the config table generated from the schema (UPDATE_DOCS=1 rewrites it)', () => {
    const docs = readFileSync(docsPath, 'utf8')
    const re = /(<!-- config-table:start[^>]*-->\n)([\s\S]*?)(<!-- config-table:end -->)/
    const current = re.exec(docs)?.[2]
    if (process.env.UPDATE_DOCS === '1' && current !== configMarkdown()) {
      writeFileSync(
        docsPath,
        docs.replace(re, (_, a: string, _b, c: string) => a + configMarkdown() + c),
      )
      return
    }
    expect(current).toBe(configMarkdown())
  })
})
