import { readFileSync } from 'node:fs'

let cachedVersion: string | undefined

/** The version of `@scanner/tunnel`, read from its package.json (from src/ or dist/). */
export function cliVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === '@scanner/tunnel' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version
        return pkg.version
      }
    } catch {
      // try the next location
    }
  }
  return (cachedVersion = '0.0.0')
}
