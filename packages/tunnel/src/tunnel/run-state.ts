/**
 * One cloudflared process as the supervisor sees it: what its output said (connections,
 * fatal lines, environmental causes), plus the helpers that read that output (log level
 * mapping, the token's secrets).
 */
import type { CloudflaredEvent, LineClassifier } from '../classify.js'
import type { LogMethod } from '../internal/options.js'
import type { EnvironmentCause } from '../internal/policy.js'

/** Longest error line kept in `status().lastErrors`. */
export const MAX_ERROR_MESSAGE = 500

export function levelMethod(event: CloudflaredEvent): LogMethod {
  switch (event.level) {
    case 'trace':
    case 'debug':
      return 'debug'
    case 'info':
      return 'info'
    case 'warn':
      return event.duringShutdown === true ? 'info' : 'warn'
    default:
      return event.duringShutdown === true ? 'info' : 'error'
  }
}

/** Secrets hidden in a tunnel token (base64 JSON `{a,t,s}`): the token and its secret. */
export function tokenSecrets(token: string): string[] {
  const secrets = [token.trim()]
  try {
    const parsed = JSON.parse(Buffer.from(token.trim(), 'base64').toString('utf8')) as {
      s?: unknown
    }
    if (typeof parsed.s === 'string' && parsed.s.length >= 8) secrets.push(parsed.s)
  } catch {
    // Not a token cloudflared would accept either.
  }
  return secrets
}

export interface RunState {
  classifier: LineClassifier
  registered: Set<number>
  connections: number
  everReady: boolean
  notReadySince: number
  invalidToken: boolean
  usage: boolean
  lastFatal: string | undefined
  metricsAddress: string
  probing: boolean
  environment: EnvironmentCause | undefined
}
