import { commandHelp, configOption, parseCommand } from '../args.js'
import type { CommandSpec } from '../args.js'
import { loadConfig, parseListen } from '../config.js'
import { CliError } from '../errors.js'
import { httpGet } from '../http.js'
import type { CliIo } from '../io.js'
import { DEFAULT_STATUS_PORT } from '../schema.js'
import { formatDuration, formatTable } from '../table.js'

/** The `status` command's spec. */
export const statusSpec: CommandSpec = {
  name: 'status',
  usage: 'scanner-tunnel status [--url http://127.0.0.1:8787] [--json]',
  summary: 'Reads the status endpoint of a running `scanner-tunnel run` and prints it as a table.',
  description:
    'Exit codes: 0 when the endpoint answered, 1 when it cannot be reached, 2 on usage errors.',
  configFlags: false,
  options: [
    {
      name: 'url',
      type: 'string',
      value: 'URL',
      description: `Base URL of the status endpoint (default: status.listen of the config, else http://127.0.0.1:${DEFAULT_STATUS_PORT}).`,
    },
    { name: 'json', type: 'boolean', description: 'Print the raw JSON.' },
    configOption,
  ],
}

type Json = Record<string, unknown>

function obj(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : undefined
}

function pick(source: Json | undefined, ...keys: string[]): unknown {
  for (const key of keys) {
    const value = source?.[key]
    if (value !== undefined && value !== null) return value
  }
  return undefined
}

function num(source: Json | undefined, ...keys: string[]): number | undefined {
  const value = pick(source, ...keys)
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function text(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** `{ exit: 2, 'quic-timeouts': 1 }` → `3 (exit 2, quic-timeouts 1)`. */
function restartsText(tunnel: Json | undefined): string {
  const restarts = pick(tunnel, 'restarts')
  const byReason =
    obj(pick(tunnel, 'restartsByReason', 'restartReasons')) ?? obj(obj(restarts)?.byReason)
  const total =
    typeof restarts === 'number'
      ? restarts
      : (num(obj(restarts), 'total') ??
        Object.values(byReason ?? {}).reduce<number>(
          (a, b) => a + (typeof b === 'number' ? b : 0),
          0,
        ))
  const parts = Object.entries(byReason ?? {})
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .map(([reason, n]) => `${reason} ${text(n)}`)
  return parts.length === 0 ? String(total) : `${total} (${parts.join(', ')})`
}

/**
 * A timestamp at the start of a cloudflared line: RFC 3339 (`2024-01-01T00:00:00Z`, with
 * fraction or offset) or Go's standard log (`2024/01/01 00:00:00`).
 */
const LEADING_TIME =
  /^(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})|\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2})\s+/

function lastErrors(tunnel: Json | undefined): string[] {
  const list = pick(tunnel, 'lastErrors', 'errors')
  if (!Array.isArray(list)) return []
  return list.slice(-5).map((e) => {
    if (typeof e === 'string') return e
    const o = obj(e)
    const time = pick(o, 'time', 'at')
    const message = text(pick(o, 'message', 'error', 'line'))
    if (time === undefined) return message
    // The line is cloudflared's own, with its own timestamp: print one time, not two.
    return `${text(time)}  ${message.replace(LEADING_TIME, '')}`
  })
}

/** Renders the status JSON of `run` as a readable table. */
export function formatStatus(status: Json): string {
  const tunnel = obj(status.tunnel)
  const origin = obj(status.origin)
  const dns = obj(status.dns)
  const ready = num(tunnel, 'readyConnections', 'connections')
  const uptime = num(tunnel, 'uptimeMs', 'uptime')
  const rows: string[][] = [
    ['State', text(pick(tunnel, 'state'))],
    ['Uptime', formatDuration(uptime)],
    ['Protocol', text(pick(tunnel, 'protocol'))],
    ['Ready connections', ready === undefined ? '-' : String(ready)],
    ['PID', text(pick(tunnel, 'pid'))],
  ]
  const url = pick(tunnel, 'url', 'quickTunnelUrl', 'publicUrl')
  if (url !== undefined) rows.push(['URL', text(url)])
  rows.push(['Restarts', restartsText(tunnel)])
  const quic = num(tunnel, 'quicIncidents', 'quicTimeoutsInWindow', 'quicTimeouts')
  if (quic !== undefined) rows.push(['QUIC incidents', `${quic} in window`])
  const failure = pick(tunnel, 'failure', 'failReason', 'reason')
  if (failure !== undefined) rows.push(['Failure', text(obj(failure)?.message ?? failure)])
  if (origin !== undefined) {
    const originRestarts = pick(origin, 'restarts')
    rows.push([
      'Origin',
      `${text(pick(origin, 'state'))} (pid ${text(pick(origin, 'pid'))}, ${restartsText(origin)} restarts)`,
    ])
    if (originRestarts === undefined && pick(origin, 'health') !== undefined) {
      rows.push(['Origin health', text(pick(origin, 'health'))])
    }
  }
  if (dns !== undefined) rows.push(['DNS', text(pick(dns, 'state'))])
  rows.push([
    'Watchdog',
    `pid ${text(status.pid)}, up ${formatDuration(num(status, 'uptimeMs'))}, v${text(status.version)}`,
  ])
  const errors = lastErrors(tunnel)
  const out = [formatTable(rows.map(([name = '', value = '']) => [name, visible(value)]))]
  out.push('', errors.length === 0 ? 'Last errors: none' : 'Last errors:')
  for (const e of errors) out.push(`  ${visible(e)}`)
  return out.join('\n') + '\n'
}

/** C0 and C1 control characters (line breaks included) and DEL. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

/**
 * The status document quotes cloudflared's lines (and anything listening on the status port
 * can answer): control characters are shown escaped (`\u001b`), never sent to the terminal,
 * where an escape sequence could rewrite the screen, the title or the clipboard, and a line
 * break in a value cannot forge a row.
 */
function visible(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** The base URL of the status endpoint from `--url` or the config. */
export async function statusBaseUrl(
  values: Readonly<Record<string, unknown>>,
  io: CliIo,
): Promise<string> {
  if (typeof values.url === 'string') {
    try {
      const url = new URL(values.url)
      if (url.protocol !== 'http:') throw new Error('not http')
      return url.href.replace(/\/(status)?$/, '')
    } catch {
      throw new CliError(
        'ERR_TUNNEL_CLI_USAGE',
        `Invalid --url: expected an http:// URL, got "${values.url}"`,
      )
    }
  }
  const file = typeof values.config === 'string' ? values.config : undefined
  const { config } = await loadConfig({ file, env: io.env, cwd: io.cwd })
  if (config.status.listen === 'off') {
    throw new CliError(
      'ERR_TUNNEL_CLI_USAGE',
      'The status endpoint is off ("status.listen"); pass --url',
    )
  }
  const listen = parseListen(config.status.listen) ?? {
    host: '127.0.0.1',
    port: DEFAULT_STATUS_PORT,
  }
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host
  return `http://${host}:${listen.port}`
}

/** `scanner-tunnel status`. */
export async function statusCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommand(statusSpec, argv)
  if (help) {
    io.stdout.write(commandHelp(statusSpec))
    return 0
  }
  const base = await statusBaseUrl(values, io)
  const res = await httpGet(`${base}/status`, 5000)
  if (res.status === undefined) {
    io.stderr.write(
      `scanner-tunnel: cannot reach the status endpoint ${base}/status (${res.error ?? 'no answer'}). ` +
        'Is `scanner-tunnel run` running, with this address as "status.listen"?\n',
    )
    return 1
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(res.body)
  } catch {
    parsed = undefined
  }
  const status = obj(parsed)
  if (res.status !== 200 || status === undefined) {
    io.stderr.write(
      `scanner-tunnel: ${base}/status answered HTTP ${res.status} without a status document; is this a scanner-tunnel status endpoint?\n`,
    )
    return 1
  }
  io.stdout.write(
    values.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status),
  )
  return 0
}
