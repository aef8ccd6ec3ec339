import { resolve } from 'node:path'
import { request } from 'undici'
import { commandHelp, configOption, parseCommand } from '../args.js'
import type { CommandSpec } from '../args.js'
import { RELOAD_HEADER } from '../reload.js'
import type { CliIo } from '../io.js'
import { DEFAULT_STATUS_PORT } from '../schema.js'
import { statusBaseUrl } from './status.js'

/** Longest wait for the answer: a handover waits up to 60 s for the new replica, then falls back. */
const RELOAD_TIMEOUT_MS = 180_000

/** The `reload` command's spec. */
export const reloadSpec: CommandSpec = {
  name: 'reload',
  usage: 'scanner-tunnel reload [--bin PATH] [--url http://127.0.0.1:8787] [--json]',
  summary:
    'Tells a running `scanner-tunnel run` to hand cloudflared over without downtime (make-before-break): a new cloudflared starts, and the old one stops only once the new one is ready.',
  description: [
    'The watchdog re-reads tunnel.bin and tunnel.args from its config file; --bin overrides',
    'tunnel.bin (an absolute path to a file whose name contains "cloudflared", owned by root or',
    "the watchdog's user and writable by no one else). Quick tunnels restart break-before-make.",
    'Exit codes: 0 after the handover, 1 when the watchdog cannot be reached or refused, 2 on',
    'usage errors.',
  ].join('\n'),
  configFlags: false,
  options: [
    {
      name: 'bin',
      type: 'string',
      value: 'PATH',
      description: 'The new cloudflared binary (relative paths are resolved here).',
    },
    {
      name: 'url',
      type: 'string',
      value: 'URL',
      description: `Base URL of the status endpoint (default: status.listen of the config, else http://127.0.0.1:${DEFAULT_STATUS_PORT}).`,
    },
    { name: 'json', type: 'boolean', description: 'Print the answer as JSON.' },
    configOption,
  ],
}

function oneLine(text: string): string {
  // Whatever answers on the port: no control character reaches the terminal.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').slice(0, 500)
}

/** `scanner-tunnel reload`. */
export async function reloadCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommand(reloadSpec, argv)
  if (help) {
    io.stdout.write(commandHelp(reloadSpec))
    return 0
  }
  const base = await statusBaseUrl(values, io)
  const bin = typeof values.bin === 'string' ? resolve(io.cwd, values.bin) : undefined
  const body = JSON.stringify(bin === undefined ? {} : { bin })
  let status: number
  let text = ''
  try {
    const res = await request(`${base}/reload`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'scanner-tunnel',
        [RELOAD_HEADER]: '1',
      },
      body,
      headersTimeout: RELOAD_TIMEOUT_MS,
      bodyTimeout: RELOAD_TIMEOUT_MS,
      signal: AbortSignal.timeout(RELOAD_TIMEOUT_MS),
    })
    status = res.statusCode
    for await (const chunk of res.body) {
      if (text.length < 65_536) text += (chunk as Buffer).toString('utf8')
    }
  } catch (error) {
    const err = error as NodeJS.ErrnoException
    const code = err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code
    io.stderr.write(
      `scanner-tunnel: cannot reach the watchdog at ${base}/reload (${code ?? err.message}). ` +
        'Is `scanner-tunnel run` running, with this address as "status.listen"?\n',
    )
    return 1
  }
  let answer: Record<string, unknown> | undefined
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null) answer = parsed as Record<string, unknown>
  } catch {
    answer = undefined
  }
  if (status !== 200 || answer === undefined) {
    const why =
      typeof answer?.error === 'string'
        ? answer.error
        : status === 404
          ? 'this watchdog has no /reload (an older version?)'
          : `HTTP ${status}`
    io.stderr.write(`scanner-tunnel: reload refused: ${oneLine(why)}\n`)
    return 1
  }
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
    return 0
  }
  const strategy = typeof answer.strategy === 'string' ? answer.strategy : 'unknown'
  const ms = typeof answer.handoverMs === 'number' ? answer.handoverMs : undefined
  const pid = typeof answer.pid === 'number' ? ` cloudflared pid ${answer.pid}.` : ''
  const fallback = answer.fallback === true ? ' (fell back: the new replica was not ready)' : ''
  io.stdout.write(
    `Reloaded: ${oneLine(strategy)}${fallback}${ms === undefined ? '' : `, handover ${Math.round(ms)} ms`}.${pid}\n`,
  )
  return 0
}
