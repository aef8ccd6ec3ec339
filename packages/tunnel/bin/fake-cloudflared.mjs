#!/usr/bin/env node
/**
 * fake-cloudflared: a cloudflared simulator for tests and demos (node builtins only).
 *
 * It behaves like cloudflared as described in shared/cloudflared.md: the same command line
 * (`tunnel [flags] run [--token-file F]`, `tunnel [flags] --url URL`, `--config FILE`,
 * `--version`), real-format zerolog console lines on stderr (or JSON with `--output json`), the
 * real startup sequence, `Registered tunnel connection` lines (4 connections, 1 for a quick
 * tunnel plus the trycloudflare URL box), a real metrics server on the `--metrics` address
 * (`/ready`, `/healthcheck`, `/metrics`, `/quicktunnel`), SIGTERM/SIGINT handling (graceful
 * shutdown within `--grace-period`, a second signal exits at once) and the real exit codes
 * (255 malformed token or usage error, 0 for `Incorrect Usage` with the text on stdout, 1 fatal,
 * 11 after a self-update). It never touches the network beyond its loopback metrics server.
 *
 * Flags understood: --no-autoupdate, --metrics host:port (port 0 = any free port; default
 * localhost:0 tries 20241-20245 then any), --protocol auto|quic|http2, --grace-period 30s,
 * --loglevel, --transport-loglevel (alias --proto-loglevel), --output default|json, --config,
 * --url, --hello-world, --token, --token-file, --logfile, --log-directory, --pidfile, --retries,
 * --ha-connections, --edge-ip-version, --region, --no-prechecks, --post-quantum, --version/-v.
 * Any other flag prints `Incorrect Usage: flag provided but not defined: -x` + help on stdout,
 * exit 0. Environment: TUNNEL_TOKEN, TUNNEL_TOKEN_FILE, TUNNEL_METRICS, TUNNEL_URL are read too.
 *
 * Faults, chosen per process by environment variables:
 *
 *   FAKE_CLOUDFLARED_SCENARIO   One scenario, or a comma list used one per start with
 *                               FAKE_CLOUDFLARED_COUNTER_FILE (start n uses item n; the last
 *                               item repeats). Scenarios:
 *     normal           start, register the connections, serve until a signal (default)
 *     exit             exit with FAKE_CLOUDFLARED_EXIT_CODE after FAKE_CLOUDFLARED_EXIT_AFTER_MS,
 *                      without registering any connection (a crash loop)
 *     crash            register, then exit with FAKE_CLOUDFLARED_EXIT_CODE (default 1) after
 *                      FAKE_CLOUDFLARED_CRASH_AFTER_MS
 *     self-update      register, then after FAKE_CLOUDFLARED_CRASH_AFTER_MS log the update and exit 11
 *     quic-timeouts    register, then print FAKE_CLOUDFLARED_QUIC_INCIDENTS QUIC timeout incidents
 *                      (the real 3 lines each, then `Retrying connection in up to 1s`, the
 *                      supervisor's `Connection terminated` echo of the timeout and a new
 *                      registration), one every FAKE_CLOUDFLARED_FAULT_INTERVAL_MS, on
 *                      connections 0, 1, 2, 3, 0, ...; then `QUIC incidents done count=N`
 *     lost-connections register, then after FAKE_CLOUDFLARED_CRASH_AFTER_MS lose every connection
 *                      (/ready 503) and keep printing retry lines; reconnect after
 *                      FAKE_CLOUDFLARED_RECONNECT_AFTER_MS when set
 *     dns-failure      print the edge-discovery SRV lookup errors and exit 1 (after
 *                      FAKE_CLOUDFLARED_EXIT_AFTER_MS); a quick tunnel prints the plain
 *                      `failed to request quick Tunnel: ...` line instead, as 2023.7.3 does
 *     replay           print the lines of FAKE_CLOUDFLARED_REPLAY_FILE to stderr verbatim
 *                      (`{metrics}` becomes the metrics address), then exit with
 *                      FAKE_CLOUDFLARED_EXIT_CODE after FAKE_CLOUDFLARED_EXIT_AFTER_MS: real
 *                      output captured from a real cloudflared, replayed
 *     unauthorized     never register; print `Register tunnel error from server side
 *                      error="Unauthorized: Invalid tunnel secret"` + retry lines every
 *                      FAKE_CLOUDFLARED_FAULT_INTERVAL_MS
 *     never-ready      metrics server up, /ready 503, edge dial errors + retry lines forever
 *     flood            register, then write FAKE_CLOUDFLARED_FLOOD_BYTES (default 1 GiB) of
 *                      real-format DBG lines of FAKE_CLOUDFLARED_FLOOD_LINE_BYTES (default 8192)
 *                      to stderr as fast as possible, then `flood complete bytes=N`, keep serving
 *     garbage          before starting, print invalid UTF-8, control characters, an empty line,
 *                      a line of FAKE_CLOUDFLARED_GARBAGE_LINE_BYTES (default 2 MiB), then start
 *                      normally
 *     usage            print `Incorrect Usage...` + help on stdout, exit 0
 *     chaos            register, then a fault every FAKE_CLOUDFLARED_FAULT_INTERVAL_MS (default
 *                      5000) from FAKE_CLOUDFLARED_FAULTS (comma list of control commands,
 *                      default quic,quic,quic,lose,restore,origin-error,dns-refresh), in order,
 *                      forever (the demo's "a fault every few seconds")
 *
 *   FAKE_CLOUDFLARED_EDGE               URL of a fake edge (`createFakeEdge()` of
 *                                       @scanner/tunnel/testing, loopback only): each
 *                                       connection registers by holding a request to it open,
 *                                       and the edge routes requests through this process to
 *                                       the origin; a graceful shutdown unregisters first, then
 *                                       finishes its in-flight requests within --grace-period
 *   FAKE_CLOUDFLARED_ORIGIN             origin URL requests are proxied to (default: --url or
 *                                       the config file's url)
 *   FAKE_CLOUDFLARED_SCENARIO_FILE      when this file exists and is not empty, its first line
 *                                       is the scenario of each new start (read at start; lets
 *                                       a test change the world, e.g. "DNS is back")
 *   FAKE_CLOUDFLARED_REPLAY_FILE        lines printed by `replay`
 *   FAKE_CLOUDFLARED_EXIT_CODE          exit code of `exit`/`crash`/`replay` (default 1)
 *   FAKE_CLOUDFLARED_EXIT_AFTER_MS      delay of `exit`/`dns-failure` (default 100)
 *   FAKE_CLOUDFLARED_CRASH_AFTER_MS     delay after ready of `crash`/`self-update`/
 *                                       `lost-connections` (default 500)
 *   FAKE_CLOUDFLARED_FAULT_INTERVAL_MS  interval of repeated faults (default 100; chaos 5000)
 *   FAKE_CLOUDFLARED_QUIC_INCIDENTS     incidents of `quic-timeouts` (default 3)
 *   FAKE_CLOUDFLARED_RECONNECT_AFTER_MS reconnect delay of `lost-connections` (default: never)
 *   FAKE_CLOUDFLARED_REGISTER_DELAY_MS  delay before connection 0 registers (default 50)
 *   FAKE_CLOUDFLARED_CONN_INTERVAL_MS   delay between connections 1..3 (default 20; real: 1 s)
 *   FAKE_CLOUDFLARED_HA_CONNECTIONS     connections of a named tunnel (default 4)
 *   FAKE_CLOUDFLARED_DRAIN_MS           in-flight requests at shutdown: with connections, the
 *                                       graceful shutdown takes min(this, --grace-period)
 *                                       (default 0)
 *   FAKE_CLOUDFLARED_IGNORE_SIGTERM=1   log the graceful-shutdown line but never exit on
 *                                       SIGTERM/SIGINT (only SIGKILL ends it)
 *   FAKE_CLOUDFLARED_GRANDCHILD=1       spawn a helper process (same process group) that
 *                                       ignores SIGTERM; its pid is logged (`helper pid=N`) and
 *                                       written to FAKE_CLOUDFLARED_GRANDCHILD_PID_FILE if set
 *   FAKE_CLOUDFLARED_FLOOD_BYTES        size of the `flood` (default 1073741824)
 *   FAKE_CLOUDFLARED_FLOOD_LINE_BYTES   line size of the `flood` (default 8192)
 *   FAKE_CLOUDFLARED_GARBAGE_LINE_BYTES long line of `garbage` (default 2097152)
 *   FAKE_CLOUDFLARED_ECHO_TOKEN=1       print the token in a log line (a leaky cloudflared), to
 *                                       test that supervisors scrub it
 *   FAKE_CLOUDFLARED_RECORD=path        write {argv, env (TUNNEL_*, FAKE_*), pid, ppid, pgid,
 *                                       cwd} as JSON to this file at start
 *   FAKE_CLOUDFLARED_COUNTER_FILE=path  start counter for scenario lists
 *   FAKE_CLOUDFLARED_VERSION            version printed (default 2026.8.2)
 *   FAKE_CLOUDFLARED_CONTROL=path       control file, polled every 100 ms: each line appended
 *                                       is a command run at once:
 *       quic [connIndex]      one QUIC timeout incident (4 lines + re-registration)
 *       lose [connIndex|all]  lose connections (/ready drops; 503 when none is left)
 *       restore               re-register every lost connection
 *       crash [code]          exit now with code (default 1)
 *       unauthorized          one `Unauthorized` registration error
 *       dns-refresh           `Failed to refresh DNS local resolver` (runtime DNS error)
 *       origin-error          an `Unable to reach the origin service` request error
 *       flood BYTES           write BYTES of DBG lines
 *       garbage               print invalid UTF-8 and control characters
 *       self-update           log the update and exit 11
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { Agent, createServer, request as httpRequest } from 'node:http'

const env = process.env
const num = (name, fallback) => {
  const value = env[`FAKE_CLOUDFLARED_${name}`]
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  return Number.isFinite(n) ? n : fallback
}
const flag = (name) => ['1', 'true', 'yes'].includes(String(env[`FAKE_CLOUDFLARED_${name}`] ?? ''))

const VERSION = env.FAKE_CLOUDFLARED_VERSION || '2026.8.2'
const CHECKSUM = '3f1c9b2d8e7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e'
const EDGE_IPS = ['198.41.192.7', '198.41.200.13', '198.41.192.27', '198.41.200.33']
const LOCATIONS = ['ams08', 'fra06', 'ams01', 'fra10']

// ---------------------------------------------------------------------------------------------
// Output

let jsonOutput = false
const LEVELS = { debug: 'DBG', info: 'INF', warn: 'WRN', error: 'ERR', fatal: 'FTL' }
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')

function quote(value) {
  const s = String(value)
  return s === '' || /[\s"=\\]/.test(s) || /[^\x21-\x7e]/.test(s) ? JSON.stringify(s) : s
}

/** One zerolog line: console (sorted fields, error first) or JSON (sorted keys). */
function format(level, message, fields = {}) {
  if (jsonOutput) {
    const record = { level, message, time: now(), ...fields }
    const sorted = {}
    for (const key of Object.keys(record).sort()) sorted[key] = record[key]
    return JSON.stringify(sorted)
  }
  const keys = Object.keys(fields).sort()
  const parts = []
  if ('error' in fields) parts.push(`error=${quote(fields.error)}`)
  for (const key of keys) if (key !== 'error') parts.push(`${key}=${quote(fields[key])}`)
  return `${now()} ${LEVELS[level]} ${message}${parts.length ? ' ' + parts.join(' ') : ''}`
}

function writeAll(fd, data) {
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  let off = 0
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off)
    } catch (error) {
      if (error.code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
        continue
      }
      if (error.code === 'EPIPE') process.exit(141) // like Go's SIGPIPE death
      throw error
    }
  }
}

const LEVEL_ORDER = ['debug', 'info', 'warn', 'error', 'fatal']
let minLevel = 'info'
function log(level, message, fields) {
  if (LEVEL_ORDER.indexOf(level) < LEVEL_ORDER.indexOf(minLevel)) return
  writeAll(2, format(level, message, fields) + '\n')
}
const plain = (text) => writeAll(2, text + '\n')
const stdout = (text) => writeAll(1, text + '\n')

// ---------------------------------------------------------------------------------------------
// Command line

const HELP = `NAME:
   cloudflared tunnel - Use Cloudflare Tunnel to expose private services to the Internet or to Cloudflare connected private users.

USAGE:
   cloudflared tunnel [tunnel command options] [subcommand options]

COMMANDS:
   run      Proxy a local web server by running the given tunnel
   help, h  Shows a list of commands or help for one command

OPTIONS:
   --config value       Specifies a config file in YAML format.
   --metrics value      Listen address for metrics reporting. (default: "localhost:0") [$TUNNEL_METRICS]
   --no-autoupdate      Disable periodic check for updates, restarting the server with the new version. (default: false) [$NO_AUTOUPDATE]
   --grace-period value When cloudflared receives SIGINT/SIGTERM it will stop accepting new requests, wait for in-progress requests to terminate, then shutdown. (default: 30s) [$TUNNEL_GRACE_PERIOD]
   --loglevel value     Application logging level {debug, info, warn, error, fatal}. (default: "info") [$TUNNEL_LOGLEVEL]
   --help, -h           show help (default: false)
`

const BOOL_FLAGS = new Set([
  'no-autoupdate',
  'hello-world',
  'no-prechecks',
  'post-quantum',
  'pq',
  'help',
  'h',
])
const VALUE_FLAGS = new Set([
  'metrics',
  'protocol',
  'p',
  'grace-period',
  'loglevel',
  'transport-loglevel',
  'proto-loglevel',
  'output',
  'config',
  'url',
  'token',
  'token-file',
  'logfile',
  'log-directory',
  'pidfile',
  'retries',
  'ha-connections',
  'edge-ip-version',
  'region',
  'edge-bind-address',
  'autoupdate-freq',
])

function usageError(flagName) {
  stdout(`Incorrect Usage: flag provided but not defined: -${flagName}\n`)
  stdout(HELP)
  process.exit(0)
}

function parseArgs(argv) {
  const flags = {}
  const positional = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const body = arg.replace(/^--?/, '')
      const eq = body.indexOf('=')
      const name = eq === -1 ? body : body.slice(0, eq)
      if (BOOL_FLAGS.has(name)) flags[name] = eq === -1 ? true : body.slice(eq + 1) !== 'false'
      else if (VALUE_FLAGS.has(name)) {
        if (eq !== -1) flags[name] = body.slice(eq + 1)
        else if (i + 1 < argv.length) flags[name] = argv[++i]
        else {
          stdout(`Incorrect Usage: flag needs an argument: -${name}\n`)
          stdout(HELP)
          process.exit(0)
        }
      } else usageError(name)
    } else positional.push(arg)
  }
  return { flags, positional }
}

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(text).trim())
  if (!m) return undefined
  const n = Number(m[1])
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]]
}

/** Reads `key: value` pairs from a simple YAML config (url, tunnel, metrics, protocol, ...). */
function readConfig(path) {
  let text
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    plain(
      `Cannot determine default configuration path. No file [${path}] in [${path}]: ${error.code ?? error.message}`,
    )
    process.exit(1)
  }
  const config = {}
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z-]+):\s*(.*?)\s*$/.exec(line)
    if (m && m[2] !== '') config[m[1]] = m[2].replace(/^["']|["']$/g, '')
  }
  return config
}

const argv = process.argv.slice(2)
if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
  stdout(`cloudflared version ${VERSION} (built 2026-08-20-1200 UTC)`)
  process.exit(0)
}
if (argv[0] !== 'tunnel') {
  if (argv.length === 0) {
    stdout(HELP)
    process.exit(0)
  }
  if (argv[0].startsWith('-')) usageError(argv[0].replace(/^--?/, ''))
  stdout(`No help topic for '${argv[0]}'`)
  process.exit(3)
}
const { flags, positional } = parseArgs(argv.slice(1))
if (flags.help || flags.h) {
  stdout(HELP)
  process.exit(0)
}
const config = flags.config === undefined ? {} : readConfig(flags.config)
const setting = (name) => flags[name] ?? config[name]
if (setting('output') === 'json') jsonOutput = true
const loglevel = setting('loglevel') ?? env.TUNNEL_LOGLEVEL ?? 'info'
if (LEVEL_ORDER.includes(loglevel)) minLevel = loglevel
else {
  minLevel = 'info'
  log('error', `Failed to parse log level "${loglevel}", using "info" instead`)
}

const isRun = positional[0] === 'run'
const quickUrl = flags['hello-world'] ? 'http://hello-world' : (setting('url') ?? env.TUNNEL_URL)
const quick = !isRun && quickUrl !== undefined
if (!isRun && !quick) {
  plain(
    'You did not specify any valid additional argument to the cloudflared tunnel command.\n\n' +
      'If you are trying to run a Quick Tunnel then you need to explicitly pass the --url flag.\n' +
      'Eg. cloudflared tunnel --url localhost:8080/.\n\n' +
      'Please note that Quick Tunnels are meant to be ephemeral and should only be used for testing purposes.\n' +
      'For production usage, we recommend creating Named Tunnels. (https://developers.cloudflare.com/cloudflare-one/connections/connect-apps/install-and-setup/tunnel-guide/)',
  )
  process.exit(1)
}

// Token: --token, TUNNEL_TOKEN, --token-file / TUNNEL_TOKEN_FILE.
let token = flags.token ?? env.TUNNEL_TOKEN
const tokenFile = flags['token-file'] ?? env.TUNNEL_TOKEN_FILE
if (isRun && token === undefined && tokenFile !== undefined) {
  try {
    token = readFileSync(tokenFile, 'utf8').trim()
  } catch (error) {
    plain(`Failed to read token file: ${error.message}\nSee 'cloudflared tunnel run --help'.`)
    process.exit(255)
  }
}
let tunnelId = positional[1] ?? config.tunnel
let accountTag = '699d98642c564d2e855e9661899b7252'
if (isRun && token !== undefined) {
  let parsed
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'))
  } catch {
    parsed = undefined
  }
  if (!parsed || typeof parsed.t !== 'string' || typeof parsed.s !== 'string') {
    plain('Provided Tunnel token is not valid.')
    process.exit(255)
  }
  tunnelId = parsed.t
  if (typeof parsed.a === 'string') accountTag = parsed.a
}
if (isRun && tunnelId === undefined) {
  plain(
    '"cloudflared tunnel run" requires the ID or name of the tunnel to run as the last command line argument or in the configuration file.\nSee \'cloudflared tunnel run --help\'.',
  )
  process.exit(255)
}

const protocolFlag = setting('protocol') ?? env.TUNNEL_TRANSPORT_PROTOCOL ?? 'auto'
if (!['auto', 'quic', 'http2', 'h2mux'].includes(protocolFlag)) {
  plain(`Unknown protocol ${protocolFlag}, valid protocols are: auto, quic and http2`)
  process.exit(1)
}
const protocol = protocolFlag === 'http2' || protocolFlag === 'h2mux' ? 'http2' : 'quic'
const graceText = setting('grace-period') ?? env.TUNNEL_GRACE_PERIOD ?? '30s'
const graceMs = parseDuration(graceText)
if (graceMs === undefined) {
  stdout(`Incorrect Usage: invalid value "${graceText}" for flag -grace-period: parse error\n`)
  stdout(HELP)
  process.exit(0)
}
if (graceMs > 180_000) {
  plain(`grace-period must be equal or less than 3m0s`)
  process.exit(1)
}
const haConnections = quick
  ? 1
  : Math.max(1, num('HA_CONNECTIONS', Number(setting('ha-connections') ?? 4)))

// ---------------------------------------------------------------------------------------------
// Scenario

function pickScenario() {
  const scenarioFile = env.FAKE_CLOUDFLARED_SCENARIO_FILE
  if (scenarioFile) {
    try {
      const first = readFileSync(scenarioFile, 'utf8').split('\n')[0].trim()
      if (first !== '') return first
    } catch {
      // no file: the environment decides
    }
  }
  const list = String(env.FAKE_CLOUDFLARED_SCENARIO || 'normal')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  const counterFile = env.FAKE_CLOUDFLARED_COUNTER_FILE
  let index = 0
  if (counterFile) {
    let count = 0
    try {
      count = Number(readFileSync(counterFile, 'utf8').trim()) || 0
    } catch {
      count = 0
    }
    writeWhole(counterFile, String(count + 1))
    index = count
  }
  return list[Math.min(index, list.length - 1)] ?? 'normal'
}
const scenario = pickScenario()

/** Writes a file whole (temporary file, then rename): a reader never sees it empty or half written. */
function writeWhole(path, text) {
  const temporary = `${path}.${String(process.pid)}.tmp`
  writeFileSync(temporary, text)
  renameSync(temporary, path)
}

if (env.FAKE_CLOUDFLARED_RECORD) {
  const recorded = {}
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('TUNNEL_') || key.startsWith('FAKE_') || key === 'NO_AUTOUPDATE') {
      recorded[key] = value
    }
  }
  writeWhole(
    env.FAKE_CLOUDFLARED_RECORD,
    JSON.stringify({
      argv: process.argv.slice(2),
      env: recorded,
      pid: process.pid,
      ppid: process.ppid,
      cwd: process.cwd(),
      scenario,
    }),
  )
}

if (scenario === 'usage') usageError('bogus-flag')

// ---------------------------------------------------------------------------------------------
// State, timers and exit

const connectorId = randomUUID()
const connections = new Map() // connIndex -> { id, ip, location }
let shuttingDown = false
let exiting = false
const timers = new Set()
const after = (ms, fn) => {
  const t = setTimeout(() => {
    timers.delete(t)
    fn()
  }, ms)
  timers.add(t)
  return t
}
const every = (ms, fn) => {
  const t = setInterval(fn, ms)
  timers.add(t)
  return t
}
function clearAll() {
  for (const t of timers) {
    clearTimeout(t)
    clearInterval(t)
  }
  timers.clear()
}

let metricsServer
function exit(code) {
  if (exiting) return
  exiting = true
  clearAll()
  if (metricsServer) metricsServer.close()
  process.exit(code)
}

function fatal(message, code = 1) {
  log('error', 'Initiating shutdown', { error: message })
  log('info', 'Tunnel server stopped')
  log('info', 'Metrics server stopped')
  plain(message)
  exit(code)
}

// ---------------------------------------------------------------------------------------------
// Metrics server

function readyBody() {
  const n = connections.size
  return { status: n > 0 ? 200 : 503, readyConnections: n, connectorId }
}

function metricsText() {
  const lines = [
    '# HELP build_info Build and version information',
    '# TYPE build_info gauge',
    `build_info{goversion="go1.24.6",revision="fake",type="",version="${VERSION}"} 1`,
    '# HELP cloudflared_tunnel_ha_connections Number of active ha connections',
    '# TYPE cloudflared_tunnel_ha_connections gauge',
    // Counts connection goroutines, registered or not (cloudflare/cloudflared#1633).
    `cloudflared_tunnel_ha_connections ${shuttingDown ? 0 : haConnections}`,
    '# HELP cloudflared_tunnel_total_requests Amount of requests proxied through all the tunnels',
    '# TYPE cloudflared_tunnel_total_requests counter',
    `cloudflared_tunnel_total_requests ${stats.requests}`,
    '# HELP cloudflared_tunnel_request_errors Count of error proxying to origin',
    '# TYPE cloudflared_tunnel_request_errors counter',
    `cloudflared_tunnel_request_errors ${stats.requestErrors}`,
    '# HELP cloudflared_tunnel_tunnel_register_success Count of successful tunnel registrations',
    '# TYPE cloudflared_tunnel_tunnel_register_success counter',
    `cloudflared_tunnel_tunnel_register_success{rpcName="registerConnection"} ${stats.registrations}`,
    '# HELP quic_client_closed_connections Number of connections that have been closed',
    '# TYPE quic_client_closed_connections counter',
    `quic_client_closed_connections ${stats.quicClosed}`,
  ]
  return lines.join('\n') + '\n'
}
const stats = { requests: 0, requestErrors: 0, registrations: 0, quicClosed: 0 }

function startMetrics(address, onListening) {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/ready') {
      const body = readyBody()
      res.writeHead(body.status, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(JSON.stringify(body))
    } else if (path === '/healthcheck') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('OK\n')
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      res.end(metricsText())
    } else if (path === '/quicktunnel') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ hostname: quick ? quickHostname : '' }))
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('404 page not found\n')
    }
  })
  server.keepAliveTimeout = 1000
  metricsServer = server
  const explicit = address !== undefined
  const text = address ?? 'localhost:0'
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text)
  if (!m) {
    log('error', 'Error opening metrics server listener', {
      error: `failed to bind to address (${text}): address ${text}: missing port in address`,
    })
    exit(1)
    return
  }
  let host = m[1] ?? m[2] ?? ''
  if (host === '' || host === 'localhost') host = '127.0.0.1'
  const wanted = Number(m[3])
  const candidates = !explicit && wanted === 0 ? [20241, 20242, 20243, 20244, 20245, 0] : [wanted]
  const tryListen = (i) => {
    server.once('error', (error) => {
      if (i + 1 < candidates.length) return tryListen(i + 1)
      log('error', 'Error opening metrics server listener', {
        error: `listen tcp ${host}:${candidates[i]}: bind: ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}`,
      })
      exit(1)
    })
    server.listen(candidates[i], host, () => {
      const port = server.address().port
      const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
      log('info', `Starting metrics server on ${shown}/metrics`)
      onListening()
    })
  }
  tryListen(0)
}

// ---------------------------------------------------------------------------------------------
// Connections

const WORDS = [
  'seasonal',
  'deck',
  'organisms',
  'sf',
  'quiet',
  'river',
  'amber',
  'falcon',
  'pixel',
  'harbor',
]
const quickHostname = `${Array.from({ length: 4 }, (_, i) => WORDS[(process.pid + i * 3) % WORDS.length]).join('-')}.trycloudflare.com`

// ---------------------------------------------------------------------------------------------
// Data path through a fake edge (FAKE_CLOUDFLARED_EDGE): a loopback listener the edge forwards
// requests to, proxied to the origin; one held request to the edge per registered connection.

const EDGE = env.FAKE_CLOUDFLARED_EDGE || undefined
let tunnelServer
let tunnelTarget
let inflight = 0
let lastRequestAt = 0
/** After unregistering, requests the edge routed just before may still be arriving. */
const UNREGISTER_QUIET_MS = 500
const originAgent = new Agent({ keepAlive: true, maxSockets: 64 })
const edgeLinks = new Map() // connIndex -> ClientRequest

function originUrl() {
  return env.FAKE_CLOUDFLARED_ORIGIN || setting('url') || undefined
}

function startTunnelServer(onListening) {
  tunnelServer = createServer((req, res) => {
    lastRequestAt = Date.now()
    inflight++
    stats.requests++
    let done = false
    const finish = () => {
      if (done) return
      done = true
      inflight--
    }
    res.on('close', finish)
    const origin = originUrl()
    if (origin === undefined) {
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.end('no origin configured\n')
      return
    }
    const target = new URL(req.url ?? '/', origin)
    const upstream = httpRequest(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host }, agent: originAgent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', (error) => {
      stats.requestErrors++
      log('error', '', {
        error: `Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: ${error.message}`,
        event: 1,
        originService: origin,
      })
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
      res.end()
    })
    req.pipe(upstream)
  })
  // The edge keeps its connections; shutdown closes the idle ones.
  tunnelServer.keepAliveTimeout = 65_000
  tunnelServer.listen(0, '127.0.0.1', () => {
    tunnelTarget = `http://127.0.0.1:${tunnelServer.address().port}`
    onListening()
  })
}

function edgeConnect(connIndex, onRegistered) {
  const url = new URL('/_edge/connect', EDGE)
  url.searchParams.set('connector', connectorId)
  url.searchParams.set('conn', String(connIndex))
  url.searchParams.set('target', tunnelTarget)
  const req = httpRequest(url, { method: 'GET', agent: false })
  edgeLinks.set(connIndex, req)
  req.on('response', (res) => {
    res.resume()
    if (edgeLinks.get(connIndex) !== req || shuttingDown || exiting) {
      req.destroy()
      return
    }
    onRegistered()
  })
  req.on('error', () => {
    if (edgeLinks.get(connIndex) === req) edgeLinks.delete(connIndex)
  })
  req.end()
}

function edgeDisconnect(connIndex) {
  const req = edgeLinks.get(connIndex)
  edgeLinks.delete(connIndex)
  req?.destroy()
}

function register(connIndex) {
  if (shuttingDown || exiting) return
  if (EDGE !== undefined && tunnelTarget !== undefined) {
    edgeConnect(connIndex, () => registered(connIndex))
    return
  }
  registered(connIndex)
}

function registered(connIndex) {
  if (shuttingDown || exiting) return
  const ip = EDGE_IPS[connIndex % EDGE_IPS.length]
  log('info', 'Tunnel connection curve preferences: [X25519MLKEM768 CurveP256]', {
    connIndex,
    event: 0,
    ip,
  })
  const conn = { id: randomUUID(), ip, location: LOCATIONS[connIndex % LOCATIONS.length] }
  connections.set(connIndex, conn)
  stats.registrations++
  log('info', 'Registered tunnel connection', {
    connIndex,
    connection: conn.id,
    event: 0,
    ip,
    location: conn.location,
    protocol,
  })
}

function registerAll(done) {
  after(num('REGISTER_DELAY_MS', 50), () => {
    register(0)
    let i = 1
    const next = () => {
      if (i >= haConnections) return done?.()
      const index = i++
      after(num('CONN_INTERVAL_MS', 20), () => {
        register(index)
        next()
      })
    }
    next()
  })
}

function quicIncident(connIndex) {
  if (shuttingDown) return
  const conn = connections.get(connIndex)
  const ip = conn?.ip ?? EDGE_IPS[connIndex % EDGE_IPS.length]
  const f = { connIndex, event: 0, ip }
  connections.delete(connIndex)
  edgeDisconnect(connIndex)
  stats.quicClosed++
  log('error', 'failed to accept incoming stream requests', {
    error: 'failed to accept QUIC stream: timeout: no recent network activity',
    ...f,
  })
  const level = connections.size === 0 ? 'error' : 'warn'
  log(level, 'failed to serve tunnel connection', {
    error: 'accept stream listener encountered a failure while serving',
    ...f,
  })
  log(level, 'Serve tunnel error', {
    error: 'accept stream listener encountered a failure while serving',
    ...f,
  })
  log('info', 'Retrying connection in up to 1s', f)
  // cloudflared's supervisor then reports the same error once more (supervisor.go).
  log(level, 'Connection terminated', {
    error: 'failed to accept QUIC stream: timeout: no recent network activity',
    connIndex,
  })
  after(num('RECONNECT_MS', 30), () => register(connIndex))
}

function lose(which) {
  const targets = which === undefined || which === 'all' ? [...connections.keys()] : [Number(which)]
  for (const connIndex of targets) {
    const conn = connections.get(connIndex)
    if (!conn) continue
    connections.delete(connIndex)
    edgeDisconnect(connIndex)
    const level = connections.size === 0 ? 'error' : 'warn'
    log(level, 'Connection terminated', {
      error: 'control stream encountered a failure while serving',
      connIndex,
    })
    log('info', 'Retrying connection in up to 2s', { connIndex, event: 0, ip: conn.ip })
    lost.add(connIndex)
  }
}
const lost = new Set()
function restore() {
  for (const connIndex of [...lost]) {
    lost.delete(connIndex)
    register(connIndex)
  }
}

function flood(bytes) {
  const lineBytes = Math.max(120, num('FLOOD_LINE_BYTES', 8192))
  const prefix = `${now()} DBG Inbound request cfRay=8e1f2a3b4c5d6e7f-AMS event=1 originService=http://127.0.0.1:8080 padding=`
  const line = prefix + 'x'.repeat(Math.max(1, lineBytes - prefix.length - 1)) + '\n'
  const perChunk = Math.max(1, Math.floor((1 << 20) / line.length))
  const chunk = Buffer.from(line.repeat(perChunk))
  let written = 0
  while (written < bytes) {
    const piece = bytes - written >= chunk.length ? chunk : chunk.subarray(0, bytes - written)
    writeAll(2, piece)
    written += piece.length
  }
  writeAll(2, '\n')
  log('info', 'flood complete', { bytes: written })
}

function garbage() {
  writeAll(2, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0x0a]))
  writeAll(2, Buffer.from('\x00\x01\x07\x1b[31mcolour\x1b[0m\r\n\n', 'latin1'))
  writeAll(2, Buffer.from([0xe2, 0x82, 0x0a, 0xf0, 0x9f, 0x98, 0x0a]))
  const size = num('GARBAGE_LINE_BYTES', 2 * 1024 * 1024)
  const block = Buffer.alloc(64 * 1024, 0x61)
  for (let left = size; left > 0; left -= block.length) {
    writeAll(2, left >= block.length ? block : block.subarray(0, left))
  }
  writeAll(2, '\n')
}

function unauthorized(connIndex = 0) {
  const ip = EDGE_IPS[connIndex % EDGE_IPS.length]
  log(connections.size === 0 ? 'error' : 'warn', 'Register tunnel error from server side', {
    error: 'Unauthorized: Invalid tunnel secret',
    connIndex,
    event: 0,
    ip,
  })
  log('info', 'Retrying connection in up to 2s', { connIndex, event: 0, ip })
}

function selfUpdate() {
  log('info', 'cloudflared has been updated', { version: '2026.9.0' })
  log('error', 'Initiating shutdown', { error: 'cloudflared has been updated to version 2026.9.0' })
  log('info', 'Tunnel server stopped')
  log('info', 'Metrics server stopped')
  exit(11)
}

function runCommand(text) {
  const [cmd, arg] = text.trim().split(/\s+/)
  switch (cmd) {
    case 'quic': {
      const keys = [...connections.keys()]
      const target =
        arg !== undefined ? Number(arg) : (keys[Math.floor(Math.random() * keys.length)] ?? 0)
      quicIncident(target)
      break
    }
    case 'lose':
      lose(arg)
      break
    case 'restore':
      restore()
      break
    case 'crash':
      fatal('simulated crash: context canceled', arg === undefined ? 1 : Number(arg))
      break
    case 'unauthorized':
      unauthorized(0)
      break
    case 'dns-refresh':
      log('error', 'Failed to refresh DNS local resolver', {
        error:
          'lookup region1.v2.argotunnel.com on 127.0.0.53:53: read udp 127.0.0.1:40212->127.0.0.53:53: i/o timeout',
      })
      break
    case 'origin-error':
      stats.requests++
      stats.requestErrors++
      log('error', '', {
        error:
          'Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8080: connect: connection refused',
        cfRay: '8e1f2a3b4c5d6e7f-AMS',
        event: 1,
        ingressRule: 0,
        originService: 'http://127.0.0.1:8080',
      })
      break
    case 'flood':
      flood(Number(arg) || 1024 * 1024)
      break
    case 'garbage':
      garbage()
      break
    case 'self-update':
      selfUpdate()
      break
    default:
      if (cmd) log('warn', 'fake-cloudflared: unknown control command', { command: cmd })
  }
}

function watchControl(path) {
  let offset = 0
  try {
    offset = statSync(path).size
  } catch {
    offset = 0
  }
  let pending = ''
  every(100, () => {
    if (!existsSync(path)) return
    let data
    try {
      const buf = readFileSync(path)
      if (buf.length < offset) offset = 0
      data = buf.subarray(offset).toString('utf8')
      offset = buf.length
    } catch {
      return
    }
    pending += data
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) runCommand(line)
  })
}

// ---------------------------------------------------------------------------------------------
// Signals

let signals = 0
function onSignal(signal) {
  signals++
  const name = signal === 'SIGINT' ? 'interrupt' : 'terminated'
  if (flag('IGNORE_SIGTERM')) {
    log('info', `Initiating graceful shutdown due to signal ${name} ...`)
    return
  }
  if (signals > 1) {
    // Go's default action after signal.Stop: die by the signal.
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
    return
  }
  shuttingDown = true
  clearAll()
  log('info', `Initiating graceful shutdown due to signal ${name} ...`)
  const had = [...connections.entries()]
  const drain = had.length > 0 ? Math.min(num('DRAIN_MS', 0), graceMs) : 0
  const finish = () => {
    for (const [connIndex] of had) log('error', 'Connection terminated', { connIndex })
    if (had.length > 0) log('error', 'no more connections active and exiting')
    log('info', 'Tunnel server stopped')
    log('info', 'Metrics server stopped')
    exit(0)
  }
  if (EDGE !== undefined) {
    // Unregister first (once the edge answered, it routes nothing new here), then let
    // in-flight requests finish within the grace period, until no request came for a moment.
    const deadline = Date.now() + graceMs
    const started = Date.now()
    const unregistered = () => {
      for (const [connIndex, conn] of had) {
        edgeDisconnect(connIndex)
        connections.delete(connIndex)
        log('info', 'Unregistered tunnel connection', { connIndex, event: 0, ip: conn.ip })
      }
      drainThenExit(started, deadline, drain, finish)
    }
    edgeUnregister(unregistered)
    return
  }
  setTimeout(() => {
    for (const [connIndex, conn] of had) {
      log('info', 'Unregistered tunnel connection', { connIndex, event: 0, ip: conn.ip })
      connections.delete(connIndex)
    }
    finish()
  }, drain)
}

/** UnregisterConnection: resolves once the edge routes nothing new here (or after 2 s). */
function edgeUnregister(done) {
  let called = false
  const once = () => {
    if (called) return
    called = true
    clearTimeout(timer)
    done()
  }
  const timer = setTimeout(once, 2000)
  const url = new URL('/_edge/unregister', EDGE)
  url.searchParams.set('connector', connectorId)
  const req = httpRequest(url, { method: 'POST', agent: false }, (res) => {
    res.resume()
    res.on('end', once)
  })
  req.on('error', once)
  req.end()
}

/** Serves what is in flight, then exits once no request came for a moment (or at the deadline). */
function drainThenExit(started, deadline, drain, finish) {
  const wait = setInterval(() => {
    const now = Date.now()
    const busy = inflight > 0 || now - lastRequestAt < UNREGISTER_QUIET_MS || now - started < drain
    if (busy && now < deadline) return
    clearInterval(wait)
    tunnelServer?.close()
    tunnelServer?.closeIdleConnections()
    finish()
  }, 10)
}
process.on('SIGTERM', onSignal)
process.on('SIGINT', onSignal)

// ---------------------------------------------------------------------------------------------
// Main

function spawnHelper() {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "process.on('SIGTERM', () => {}); process.on('SIGINT', () => {}); setInterval(() => {}, 1000)",
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
  log('info', 'helper started', { pid: child.pid })
  if (env.FAKE_CLOUDFLARED_GRANDCHILD_PID_FILE) {
    writeWhole(env.FAKE_CLOUDFLARED_GRANDCHILD_PID_FILE, String(child.pid))
  }
}

function startup() {
  if (quick) {
    log(
      'info',
      'Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out. However, be aware that these account-less Tunnels have no uptime guarantee, are subject to the Cloudflare Online Services Terms of Use (https://www.cloudflare.com/website-terms/), and Cloudflare reserves the right to investigate your use of Tunnels for violations of such terms. If you intend to use Tunnels in production you should use a pre-created named tunnel by following: https://developers.cloudflare.com/cloudflare-one/connections/connect-apps',
    )
    log('info', 'Requesting new quick Tunnel on trycloudflare.com...')
    if (scenario === 'dns-failure') return
    const text1 =
      'Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):'
    const text2 = `https://${quickHostname}`
    const width = text1.length + 4
    log('info', `+${'-'.repeat(width)}+`)
    log('info', `|  ${text1.padEnd(width - 2)}|`)
    log('info', `|  ${text2.padEnd(width - 2)}|`)
    log('info', `+${'-'.repeat(width)}+`)
  } else {
    log('info', 'Starting tunnel', { tunnelID: tunnelId })
  }
  log('info', `Version ${VERSION} (Checksum ${CHECKSUM})`)
  log('info', 'GOOS: linux, GOVersion: go1.24.6, GoArch: amd64')
  const settings = Object.entries(flags)
    .filter(([k]) => k !== 'token')
    .map(([k, v]) => `${k}:${v}`)
  if (token !== undefined) settings.push('token:*****')
  log('info', `Settings: map[${settings.sort().join(' ')}]`)
  const tunnelVars = Object.keys(env)
    .filter((k) => k.startsWith('TUNNEL_'))
    .sort()
    .map((k) => `${k}:${k === 'TUNNEL_TOKEN' ? '*****' : env[k]}`)
  if (tunnelVars.length > 0) log('info', `Environmental variables map[${tunnelVars.join(' ')}]`)
  if (!flags['no-autoupdate']) {
    log('info', 'Autoupdate frequency is set', { autoupdateFreq: '24h0m0s' })
  }
  if (flag('ECHO_TOKEN') && token !== undefined) {
    log('debug', `Using tunnel token ${token}`)
    log('info', 'Loaded credentials', { token, account: accountTag })
  }
  log('info', `Generated Connector ID: ${connectorId}`)
  log('info', `Initial protocol ${protocol}`)
  log('info', 'ICMP proxy will use 10.0.0.5 as source for IPv4')
}

function main() {
  if (scenario === 'garbage') garbage()
  if (flag('GRANDCHILD')) spawnHelper()
  if (env.FAKE_CLOUDFLARED_CONTROL) watchControl(env.FAKE_CLOUDFLARED_CONTROL)
  if (scenario === 'replay') {
    startMetrics(setting('metrics') ?? env.TUNNEL_METRICS, () => {
      const address = metricsServer.address()
      const text = readFileSync(env.FAKE_CLOUDFLARED_REPLAY_FILE ?? '/dev/null', 'utf8')
      for (const line of text.split('\n')) {
        if (line !== '') plain(line.replaceAll('{metrics}', `127.0.0.1:${address.port}`))
      }
      after(num('EXIT_AFTER_MS', 100), () => exit(num('EXIT_CODE', 1)))
    })
    return
  }
  startup()
  if (scenario === 'dns-failure' && quick) {
    // 2023.7.3: one POST to api.trycloudflare.com, then a plain line and exit 1 (no retry).
    after(num('EXIT_AFTER_MS', 100), () => {
      plain(
        'failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: lookup api.trycloudflare.com on 127.0.0.53:53: dial udp 127.0.0.53:53: connect: network is unreachable',
      )
      exit(1)
    })
    return
  }
  if (scenario === 'dns-failure') {
    log('error', 'edge discovery: error looking up Cloudflare edge IPs: the DNS query failed', {
      error:
        'lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: dial udp 127.0.0.53:53: connect: network is unreachable',
    })
    for (const text of [
      'Please try the following things to diagnose this issue:',
      '1. ensure that argotunnel.com is returning "origintunneld" service records.',
      "   Run your system's equivalent of: dig srv _v2-origintunneld._tcp.argotunnel.com",
      '2. ensure that your DNS resolver is not returning compressed SRV records.',
      '   See GitHub issue https://github.com/golang/go/issues/27546',
      "   For example, you could use Cloudflare's 1.1.1.1 as your resolver:",
      '   https://developers.cloudflare.com/1.1.1.1/setting-up-1.1.1.1/',
    ]) {
      log('error', text)
    }
  }
  if (EDGE !== undefined) startTunnelServer(serve)
  else serve()
}

function serve() {
  startMetrics(setting('metrics') ?? env.TUNNEL_METRICS, () => {
    switch (scenario) {
      case 'exit':
        after(num('EXIT_AFTER_MS', 100), () => {
          const code = num('EXIT_CODE', 1)
          if (code === 0) {
            log('info', 'Tunnel server stopped')
            exit(0)
          } else fatal('failed to serve tunnel: simulated exit', code)
        })
        break
      case 'dns-failure':
        after(num('EXIT_AFTER_MS', 100), () =>
          fatal(
            'Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: dial udp 127.0.0.53:53: connect: network is unreachable',
          ),
        )
        break
      case 'unauthorized':
        every(num('FAULT_INTERVAL_MS', 100), () => unauthorized(0))
        break
      case 'never-ready':
        every(num('FAULT_INTERVAL_MS', 100), () => {
          log('error', 'Unable to establish connection with Cloudflare edge', {
            error: 'DialContext error: dial tcp 198.41.192.7:7844: i/o timeout',
            connIndex: 0,
            event: 0,
            ip: '198.41.192.7',
          })
          log('info', 'Retrying connection in up to 2s', {
            connIndex: 0,
            event: 0,
            ip: '198.41.192.7',
          })
        })
        break
      default:
        registerAll(() => afterReady())
    }
  })
}

function afterReady() {
  switch (scenario) {
    case 'crash':
      after(num('CRASH_AFTER_MS', 500), () =>
        fatal('failed to serve tunnel: simulated crash', num('EXIT_CODE', 1)),
      )
      break
    case 'self-update':
      after(num('CRASH_AFTER_MS', 500), selfUpdate)
      break
    case 'quic-timeouts': {
      const total = num('QUIC_INCIDENTS', 3)
      let n = 0
      const tick = () => {
        if (n >= total) {
          after(num('RECONNECT_MS', 30) + 20, () =>
            log('info', 'QUIC incidents done', { count: n }),
          )
          return
        }
        quicIncident(n % haConnections)
        n++
        after(num('FAULT_INTERVAL_MS', 100), tick)
      }
      tick()
      break
    }
    case 'lost-connections':
      after(num('CRASH_AFTER_MS', 500), () => {
        lose('all')
        every(num('FAULT_INTERVAL_MS', 100) * 5, () => {
          if (connections.size === 0) {
            log('error', 'Unable to establish connection with Cloudflare edge', {
              error: 'DialContext error: dial tcp 198.41.192.7:7844: i/o timeout',
              connIndex: 0,
              event: 0,
              ip: '198.41.192.7',
            })
          }
        })
        const reconnect = num('RECONNECT_AFTER_MS', -1)
        if (reconnect >= 0) after(reconnect, restore)
      })
      break
    case 'flood':
      flood(num('FLOOD_BYTES', 1024 * 1024 * 1024))
      break
    case 'chaos': {
      const faults = String(
        env.FAKE_CLOUDFLARED_FAULTS || 'quic,quic,quic,lose,restore,origin-error,dns-refresh',
      )
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
      let i = 0
      every(num('FAULT_INTERVAL_MS', 5000), () => {
        const fault = faults[i++ % faults.length]
        runCommand(fault === 'lose' ? 'lose 0' : fault)
      })
      break
    }
    default:
      break
  }
}

main()
