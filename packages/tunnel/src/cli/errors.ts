import { ScannerError } from '@scanner/core'

/** Codes of the errors the CLI reports before doing any work. */
export type CliErrorCode = 'ERR_TUNNEL_CLI_USAGE' | 'ERR_TUNNEL_CLI_CONFIG'

/** Exit code of usage and configuration errors (the BSD `EX_USAGE` habit of most CLIs: 2). */
export const EXIT_USAGE = 2

/**
 * A usage or configuration error: printed as one line, exit code 2.
 *
 * @example
 * ```ts
 * throw new CliError('ERR_TUNNEL_CLI_CONFIG', 'Invalid config "tunnel.protocol": ...')
 * ```
 */
export class CliError extends ScannerError<CliErrorCode> {
  override readonly name: string = 'CliError'
  /** Process exit code to use. */
  readonly exitCode: number = EXIT_USAGE
}

/** Tells whether `value` is a {@link CliError}. */
export function isCliError(value: unknown): value is CliError {
  return value instanceof CliError
}

/**
 * A Cloudflare tunnel token is base64 of a JSON object (`{"a":…,"t":…,"s":…}`), and base64 of
 * `{"` is `eyJ`: a run like that in a message is (most likely) a token pasted in the wrong place.
 */
const TOKEN_LIKE = /eyJ[A-Za-z0-9+/_-]{16,}={0,2}/g

/**
 * Removes token-shaped text (base64 JSON) from a message the CLI prints: a token pasted where
 * a path or a config file was expected (`--tunnel-token-file <token>`, `--config token`) would
 * otherwise be echoed to stderr, which systemd keeps in the journal.
 */
export function redactTokenLike(text: string): string {
  return text.replace(TOKEN_LIKE, '[Redacted: looks like a tunnel token]')
}

/** Renders a value for an error message; long strings are cut, objects summarised. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value)
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  return `an ${typeof value}`
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost)
      diag = up
    }
  }
  return prev[b.length] ?? 0
}

/** The closest candidate to `word`, when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const d = editDistance(word, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3))
  return bestDistance <= limit ? best : undefined
}
