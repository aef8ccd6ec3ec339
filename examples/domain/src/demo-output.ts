/**
 * Readable demo output: the simulator's start-up banner is shown once, its routine lines
 * afterwards are counted and summarised, each kind of error line is shown once per start, and
 * every quick-tunnel URL the simulator invents is marked as simulated (it does not exist).
 */
import type { Logger } from '@scanner/core'

/** Appended to every simulated quick-tunnel URL. */
export const SIMULATED_URL_NOTE = '[simulated URL: it does not exist, do not open it]'

const SIMULATED_URL = /https:\/\/[^\s|]*trycloudflare\.com/

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'trace'
type Args = [unknown, unknown?]

const call = (logger: Logger, level: Level, args: Args): void => {
  const fn = logger[level] ?? logger.info
  ;(fn as (...a: unknown[]) => void).apply(logger, args)
}

/** `args` with every `trycloudflare.com` URL in the message or the `url` field marked. */
function markUrls(args: Args): Args {
  const [first, second] = args
  const mark = (text: string): string =>
    SIMULATED_URL.test(text) ? `${text} ${SIMULATED_URL_NOTE}` : text
  if (typeof first === 'string') return [mark(first)]
  if (typeof first === 'object' && first !== null && 'url' in first) {
    const url = (first as { url?: unknown }).url
    if (typeof url === 'string' && SIMULATED_URL.test(url)) {
      return [
        { ...first, url: `${url} (simulated)` },
        typeof second === 'string' ? mark(second) : second,
      ]
    }
  }
  return [first, typeof second === 'string' ? mark(second) : second]
}

/**
 * Wraps the logger handed to `createTunnel` in demo mode with the simulator. Its
 * `child({ module: 'cloudflared' })` (the supervisor's output logger) shows the first start's
 * lines, then hides routine info lines, shows each error kind once per start and, when a start
 * registers its first connection, logs one line with the number of lines hidden. Every other
 * child only gets its simulated URLs marked.
 *
 * @example
 * ```ts
 * createTunnel({ ...settings, logger: demoTunnelLogger(logger) })
 * ```
 */
export function demoTunnelLogger(logger: Logger): Logger {
  let firstStartDone = false
  let newStart = false
  let hidden = 0
  const shownKinds = new Set<string>()

  const output = (target: Logger): Logger => {
    const write =
      (level: Level) =>
      (...raw: unknown[]): void => {
        const args = markUrls(raw as Args)
        const record = (typeof args[0] === 'object' && args[0] !== null ? args[0] : {}) as {
          kind?: unknown
        }
        const kind = typeof record.kind === 'string' ? record.kind : 'other'
        if (kind === 'connection-registered') {
          if (!firstStartDone) {
            firstStartDone = true
            call(target, level, args)
            return
          }
          if (!newStart) {
            hidden++ // a reconnection within the same process
            return
          }
          newStart = false
          shownKinds.clear()
          call(target, 'info', [
            { kind: 'summary', hidden },
            `connected again (${String(hidden)} routine simulator lines since the fault hidden; errors are shown once per kind)`,
          ])
          hidden = 0
          return
        }
        if (!firstStartDone || kind === 'quick-tunnel-url') {
          if (firstStartDone) hidden++
          else call(target, level, args)
          return
        }
        if ((level === 'warn' || level === 'error' || level === 'fatal') && !shownKinds.has(kind)) {
          shownKinds.add(kind)
          call(target, level, args)
          return
        }
        hidden++
      }
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      fatal: write('fatal'),
      trace: write('trace'),
      child: (bindings) => output(target.child(bindings)),
    }
  }

  const marking = (target: Logger): Logger => {
    const write =
      (level: Level) =>
      (...raw: unknown[]): void => {
        if (raw[1] === 'cloudflared started') newStart = true
        call(target, level, markUrls(raw as Args))
      }
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      fatal: write('fatal'),
      trace: write('trace'),
      child: (bindings) =>
        bindings.module === 'cloudflared'
          ? output(target.child(bindings))
          : marking(target.child(bindings)),
    }
  }
  return marking(logger)
}
