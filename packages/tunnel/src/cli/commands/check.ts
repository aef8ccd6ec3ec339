import { execa } from 'execa'
import { commandHelp, configOption, parseCommand } from '../args.js'
import type { CommandSpec } from '../args.js'
import { loadConfig, parseListen } from '../config.js'
import type { CliConfig } from '../config.js'
import { CliError } from '../errors.js'
import { httpGet } from '../http.js'
import type { CliIo } from '../io.js'
import { createCliDnsMonitor } from '../dns.js'

/** Result of one diagnosis item. */
export interface CheckItem {
  readonly name: string
  readonly status: 'pass' | 'fail' | 'skip'
  readonly detail: string
}

/** Largest clock difference with the public URL's `Date` header that still passes. */
export const MAX_CLOCK_SKEW_MS = 30_000

const INSTALL_HINT =
  'install it from https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/ or set "tunnel.bin" / CLOUDFLARED_BIN'

/** The `check` command's spec. */
export const checkSpec: CommandSpec = {
  name: 'check',
  usage: 'scanner-tunnel check [--config FILE] [--metrics-url URL] [--json] [config flags]',
  summary:
    'One-shot diagnosis: cloudflared found and its version, metrics reachable, DNS through the system and fallback resolvers, origin health, public URL health, clock.',
  description:
    'Prints one line per item. Exit codes: 0 when every item passed or was skipped, 1 when any failed, 2 on usage or config errors.',
  configFlags: true,
  options: [
    configOption,
    {
      name: 'metrics-url',
      type: 'string',
      value: 'URL',
      description:
        "cloudflared's metrics server (e.g. http://127.0.0.1:20241); default: the address reported by a running watchdog.",
    },
    { name: 'json', type: 'boolean', description: 'Print the results as JSON.' },
  ],
}

async function checkCloudflared(config: CliConfig, io: CliIo): Promise<CheckItem> {
  const bin = config.tunnel.bin ?? io.env.CLOUDFLARED_BIN ?? 'cloudflared'
  const name = 'cloudflared'
  try {
    const result = await execa(bin, ['--version'], {
      reject: false,
      timeout: 10_000,
      stdin: 'ignore',
      env: { PATH: io.env.PATH ?? '' },
      extendEnv: false,
    })
    if (result.failed && result.exitCode === undefined) {
      const code = (result as { code?: string }).code
      const why =
        code === 'ENOENT'
          ? 'not found'
          : code === 'EACCES'
            ? 'not executable'
            : (result.shortMessage ?? 'failed')
      return { name, status: 'fail', detail: `${bin}: ${why}; ${INSTALL_HINT}` }
    }
    const line = `${result.stdout}\n${result.stderr}`.split('\n').find((l) => /version/i.test(l))
    const version = /version\s+(\S+)/i.exec(line ?? '')?.[1]
    if (result.exitCode !== 0 || version === undefined) {
      return {
        name,
        status: 'fail',
        detail: `${bin} --version exited with ${result.exitCode ?? 'a signal'} and printed no version`,
      }
    }
    return { name, status: 'pass', detail: `${bin} version ${version}` }
  } catch (error) {
    return { name, status: 'fail', detail: `${bin}: ${(error as Error).message}; ${INSTALL_HINT}` }
  }
}

/** The metrics address of a running watchdog, from its status endpoint. */
async function metricsFromStatus(config: CliConfig): Promise<string | undefined> {
  if (config.status.listen === 'off') return undefined
  const listen = parseListen(config.status.listen)
  if (!listen) return undefined
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host
  const res = await httpGet(`http://${host}:${listen.port}/status`, 2000)
  if (res.status !== 200) return undefined
  try {
    const doc = JSON.parse(res.body) as { tunnel?: { metricsAddress?: unknown } }
    const value = doc.tunnel?.metricsAddress
    if (typeof value !== 'string' || value === '') return undefined
    return value.startsWith('http') ? value : `http://${value}`
  } catch {
    return undefined
  }
}

async function checkMetrics(config: CliConfig, metricsUrl: string | undefined): Promise<CheckItem> {
  const name = 'metrics'
  const base = metricsUrl ?? (await metricsFromStatus(config))
  if (base === undefined) {
    return {
      name,
      status: 'skip',
      detail: `no running watchdog reported a metrics address (status.listen ${config.status.listen}); pass --metrics-url`,
    }
  }
  const url = `${base.replace(/\/(metrics|ready)?$/, '')}/ready`
  const res = await httpGet(url, 5000)
  if (res.status === undefined)
    return { name, status: 'fail', detail: `${url} unreachable (${res.error ?? 'no answer'})` }
  let ready: unknown
  try {
    ready = (JSON.parse(res.body) as { readyConnections?: unknown }).readyConnections
  } catch {
    ready = undefined
  }
  if (res.status === 200) {
    return {
      name,
      status: 'pass',
      detail: `${url} ready, ${typeof ready === 'number' ? ready : '?'} connections`,
    }
  }
  return { name, status: 'fail', detail: `${url} answered ${res.status}: no ready connection` }
}

async function checkDns(config: CliConfig): Promise<CheckItem[]> {
  if (!config.dns.enabled) return [{ name: 'dns', status: 'skip', detail: 'dns.enabled is false' }]
  const monitor = createCliDnsMonitor(config)
  try {
    const report = await monitor.checkNow(AbortSignal.timeout(config.dns.timeoutMs * 4 + 5000))
    const items: CheckItem[] = []
    const group = (label: string, results: readonly DnsResultLike[]): void => {
      const byResolver = new Map<string, DnsResultLike[]>()
      for (const r of results)
        byResolver.set(r.resolver, [...(byResolver.get(r.resolver) ?? []), r])
      for (const [resolver, list] of byResolver) {
        const failed = list.filter((r) => !r.ok)
        const name = `dns ${label}${resolver === 'system' ? '' : ` ${resolver}`}`
        items.push(
          failed.length === 0
            ? {
                name,
                status: 'pass',
                detail: `${list.length} name(s) resolved (${list.map((r) => `${r.name} ${Math.round(r.latency_ms)} ms`).join(', ')})`,
              }
            : {
                name,
                status: 'fail',
                detail: failed.map((r) => `${r.name}: ${r.error ?? 'failed'}`).join('; '),
              },
        )
      }
    }
    group('system', report.system)
    group('fallback', report.fallbacks)
    if (report.fallbacks.length === 0 && config.dns.fallbacks.length === 0) {
      items.push({
        name: 'dns fallback',
        status: 'skip',
        detail: 'no fallback resolvers configured',
      })
    }
    return items
  } finally {
    await monitor.close()
  }
}

interface DnsResultLike {
  readonly resolver: string
  readonly name: string
  readonly ok: boolean
  readonly latency_ms: number
  readonly error?: string | undefined
}

async function checkUrl(name: string, key: string, url: string | undefined) {
  if (url === undefined) {
    return {
      item: { name, status: 'skip', detail: `"${key}" is not set` } as CheckItem,
      date: undefined,
    }
  }
  const res = await httpGet(url, 10_000)
  const dateHeader = res.headers.date
  const date = typeof dateHeader === 'string' ? Date.parse(dateHeader) : Number.NaN
  const item: CheckItem = res.ok
    ? {
        name,
        status: 'pass',
        detail: `${url} answered ${res.status} in ${Math.round(res.latencyMs)} ms`,
      }
    : {
        name,
        status: 'fail',
        detail:
          res.status === undefined
            ? `${url} unreachable (${res.error ?? 'no answer'})`
            : `${url} answered ${res.status}`,
      }
  return {
    item,
    date: Number.isNaN(date) ? undefined : { date, at: Date.now() - res.latencyMs / 2 },
  }
}

function checkClock(
  publicDate: { date: number; at: number } | undefined,
  publicUrl: string | undefined,
): CheckItem {
  const name = 'clock'
  if (publicDate === undefined) {
    return {
      name,
      status: 'skip',
      detail:
        publicUrl === undefined
          ? 'no public URL to compare with ("tunnel.publicUrl"); no external time server is contacted'
          : 'the public URL answered without a Date header; no external time server is contacted',
    }
  }
  // The Date header has one-second resolution: compare with the local time when it was sent.
  const skew = publicDate.at - publicDate.date
  const abs = Math.abs(skew)
  const seconds = (abs / 1000).toFixed(1)
  if (abs <= MAX_CLOCK_SKEW_MS) {
    return {
      name,
      status: 'pass',
      detail: `local clock within ${Math.max(1, Math.ceil(abs / 1000))} s of the public URL's Date header`,
    }
  }
  return {
    name,
    status: 'fail',
    detail: `local clock is ${seconds} s ${skew > 0 ? 'ahead of' : 'behind'} the public URL's Date header (TLS to the edge fails with a wrong clock); fix NTP (timedatectl)`,
  }
}

/** Runs every diagnosis item for a configuration. */
export async function runChecks(
  config: CliConfig,
  io: CliIo,
  metricsUrl?: string,
): Promise<CheckItem[]> {
  const [cloudflared, metrics, dns, origin, pub] = await Promise.all([
    checkCloudflared(config, io),
    checkMetrics(config, metricsUrl),
    checkDns(config).catch((error: unknown): CheckItem[] => [
      { name: 'dns', status: 'fail', detail: (error as Error).message },
    ]),
    checkUrl('origin', 'origin.healthUrl', config.origin.healthUrl),
    checkUrl('public url', 'tunnel.publicUrl', config.tunnel.publicUrl),
  ])
  return [
    cloudflared,
    metrics,
    ...dns,
    origin.item,
    pub.item,
    checkClock(pub.date, config.tunnel.publicUrl),
  ]
}

/** Formats check results, with ✓/✗ on a terminal and OK/FAIL otherwise. */
export function formatChecks(items: readonly CheckItem[], tty: boolean): string {
  const mark = (s: CheckItem['status']): string =>
    tty ? { pass: '✓', fail: '✗', skip: '-' }[s] : { pass: 'OK  ', fail: 'FAIL', skip: 'SKIP' }[s]
  const width = Math.max(...items.map((i) => i.name.length))
  const lines = items.map((i) => `${mark(i.status)} ${i.name.padEnd(width)}  ${i.detail}`)
  const failed = items.filter((i) => i.status === 'fail').length
  lines.push(failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`)
  return lines.join('\n') + '\n'
}

/** `scanner-tunnel check`. */
export async function checkCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommand(checkSpec, argv)
  if (help) {
    io.stdout.write(commandHelp(checkSpec))
    return 0
  }
  const { config } = await loadConfig({
    file: typeof values.config === 'string' ? values.config : undefined,
    env: io.env,
    flags: values,
    cwd: io.cwd,
  })
  let metricsUrl: string | undefined
  if (typeof values['metrics-url'] === 'string') {
    metricsUrl = values['metrics-url']
    if (!/^https?:\/\/[^/]+/.test(metricsUrl)) {
      throw new CliError(
        'ERR_TUNNEL_CLI_USAGE',
        `Invalid --metrics-url: expected http://host:port, got "${metricsUrl}"`,
      )
    }
  }
  const items = await runChecks(config, io, metricsUrl)
  io.stdout.write(
    values.json === true
      ? `${JSON.stringify(items, null, 2)}\n`
      : formatChecks(items, io.stdout.isTTY === true),
  )
  return items.some((i) => i.status === 'fail') ? 1 : 0
}
