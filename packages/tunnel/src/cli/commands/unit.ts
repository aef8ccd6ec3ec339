import { existsSync, realpathSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { commandHelp, configOption, parseCommand } from '../args.js'
import type { CommandSpec } from '../args.js'
import { loadConfig, tunnelKind } from '../config.js'
import { CliError } from '../errors.js'
import type { CliIo } from '../io.js'

/** Where `unit` assumes things live when not told otherwise. */
export const UNIT_DEFAULTS = Object.freeze({
  config: '/etc/scanner-tunnel/scanner-tunnel.yaml',
  envFile: '/etc/scanner-tunnel/tunnel.env',
  tokenFile: '/etc/scanner-tunnel/tunnel-token',
  logDir: '/var/log/scanner-tunnel',
  /** Time the supervisor waits after cloudflared's grace period before SIGKILL. */
  stopMarginMs: 5000,
  /** Extra time systemd gives on top of the longest stop. */
  systemdMarginS: 10,
})

/** Inputs of {@link renderUnit}; every path absolute. */
export interface UnitSpec {
  readonly node: string
  readonly cli: string
  readonly configFile: string
  /** Extra `run` flags appended to ExecStart (for example `--log-dir DIR`). */
  readonly runFlags?: readonly string[]
  readonly user?: string | undefined
  readonly logDir: string
  readonly envFile?: string | undefined
  /** Token file loaded with `LoadCredential=tunnel-token:<path>`. */
  readonly credential?: string | undefined
  readonly stopTimeoutS: number
  readonly comment?: string
  /** Relaxations of the sandbox for paths under home directories or /tmp. */
  readonly sandbox?: UnitSandbox
}

/** Escapes `%` (systemd specifiers) and `$` (variable expansion) in a unit value. */
function escapeValue(value: string): string {
  return value.replace(/%/g, '%%').replace(/\$/g, '$$$$')
}

/** One ExecStart word, quoted when it needs to be. */
function execWord(word: string): string {
  const escaped = escapeValue(word)
  if (/^[\w@%+=:,./$-]+$/.test(escaped)) return escaped
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/

function usage(message: string): CliError {
  return new CliError('ERR_TUNNEL_CLI_USAGE', message)
}

/** Rejects control characters (a newline would start a new unit directive). */
function checkText(what: string, value: string): string {
  if (CONTROL.test(value)) {
    throw usage(
      `${what} ${JSON.stringify(value)} contains a control character (newline, carriage return, tab...), which would inject lines into the unit`,
    )
  }
  return value
}

function checkPath(what: string, path: string): string {
  checkText(what, path)
  if (!isAbsolute(path)) throw usage(`${what} must be an absolute path, got "${path}"`)
  if (/[\s"'\\]/.test(path)) {
    throw usage(
      `${what} "${path}" contains whitespace, quotes or backslashes, which systemd path settings do not accept`,
    )
  }
  return escapeValue(path)
}

/** A user name systemd accepts in `User=` (the portable subset), or a numeric uid. */
function checkUser(user: string): string {
  checkText('--user', user)
  if (!/^(?:[A-Za-z_][A-Za-z0-9_-]{0,30}|\d{1,10})$/.test(user)) {
    throw usage(
      `--user "${user}" is not a valid user name (letters, digits, "_" and "-", starting with a letter or "_", at most 31 characters) or uid`,
    )
  }
  return user
}

/** Directories the unit's own sandbox hides from the service, and the setting that hides them. */
const HIDDEN = Object.freeze([
  { prefix: '/home', setting: 'ProtectHome=yes', flag: '--allow-home' },
  { prefix: '/root', setting: 'ProtectHome=yes', flag: '--allow-home' },
  { prefix: '/run/user', setting: 'ProtectHome=yes', flag: '--allow-home' },
  { prefix: '/tmp', setting: 'PrivateTmp=yes', flag: '--allow-tmp' },
  { prefix: '/var/tmp', setting: 'PrivateTmp=yes', flag: '--allow-tmp' },
])

/** How the sandbox is relaxed for paths under home directories or /tmp. */
export interface UnitSandbox {
  /** `ProtectHome=read-only` instead of `yes`: paths under /home, /root, /run/user readable. */
  readonly allowHome?: boolean
  /** `PrivateTmp=no` instead of `yes`: paths under /tmp and /var/tmp visible. */
  readonly allowTmp?: boolean
}

function checkVisible(what: string, path: string, sandbox: UnitSandbox): void {
  for (const h of HIDDEN) {
    if (path !== h.prefix && !path.startsWith(`${h.prefix}/`)) continue
    if (h.flag === '--allow-home' && sandbox.allowHome === true) continue
    if (h.flag === '--allow-tmp' && sandbox.allowTmp === true) continue
    throw usage(
      `${what} ${path} is under ${h.prefix}, which the unit's own ${h.setting} hides from the service ` +
        `(it would fail with "Cannot find module" or ENOENT). Install it elsewhere (for example ` +
        `npm install -g, or /opt), or pass ${h.flag} to relax the sandbox (${
          h.flag === '--allow-home' ? 'ProtectHome=read-only' : 'PrivateTmp=no'
        }).`,
    )
  }
}

/**
 * Renders the systemd unit of `scanner-tunnel run`: `Type=simple`, `Restart=on-failure`, the
 * hardening settings, and the token from `EnvironmentFile=-` or `LoadCredential=` — never on
 * `ExecStart`. Every value is checked: no control characters anywhere, `%` and `$` escaped,
 * ExecStart words quoted, and no path the service must read under a directory its own
 * sandbox hides (unless `sandbox` relaxes it).
 *
 * @throws {CliError} `ERR_TUNNEL_CLI_USAGE` naming the value that cannot go into a unit.
 */
export function renderUnit(spec: UnitSpec): string {
  const sandbox = spec.sandbox ?? {}
  const words: [string, string][] = [
    ['--node', spec.node],
    ['--cli', spec.cli],
    ['The config file', spec.configFile],
  ]
  for (const [what, path] of words) {
    checkText(what, path)
    if (!isAbsolute(path)) throw usage(`${what} must be an absolute path, got "${path}"`)
    checkVisible(what, path, sandbox)
  }
  for (const flag of spec.runFlags ?? []) checkText('A run flag', flag)
  const exec = [spec.node, spec.cli, 'run', '--config', spec.configFile, ...(spec.runFlags ?? [])]
  const logDir = checkPath('The log directory', spec.logDir)
  checkVisible('The log directory', spec.logDir, sandbox)
  for (const line of (spec.comment ?? '').split('\n')) checkText('The comment', line)
  const lines = [
    ...(spec.comment === undefined ? [] : spec.comment.split('\n').map((l) => `# ${l}`)),
    '[Unit]',
    'Description=scanner-tunnel watchdog (supervises cloudflared and the origin service)',
    'Documentation=https://github.com/scanner-oss/scanner/tree/main/examples/watchdog',
    'Wants=network-online.target',
    'After=network-online.target',
    'StartLimitIntervalSec=300',
    'StartLimitBurst=10',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec.map(execWord).join(' ')}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=5s',
    `TimeoutStopSec=${spec.stopTimeoutS}s`,
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    spec.user === undefined ? 'DynamicUser=yes' : `User=${checkUser(spec.user)}`,
    'Environment=NODE_ENV=production',
  ]
  // "-": a missing file is not an error (systemd's own way; node's --env-file would exit 9).
  if (spec.envFile !== undefined)
    lines.push(`EnvironmentFile=-${checkPath('The environment file', spec.envFile)}`)
  if (spec.credential !== undefined) {
    lines.push(`LoadCredential=tunnel-token:${checkPath('The token file', spec.credential)}`)
  }
  const underVarLog = /^\/var\/log\/(.+)$/.exec(spec.logDir)?.[1]
  if (underVarLog !== undefined) lines.push(`LogsDirectory=${escapeValue(underVarLog)}`)
  lines.push(
    `ReadWritePaths=${logDir}`,
    'UMask=0027',
    '',
    '# Hardening (systemd-analyze security scanner-tunnel.service)',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ProtectHome=${sandbox.allowHome === true ? 'read-only' : 'yes'}`,
    `PrivateTmp=${sandbox.allowTmp === true ? 'no' : 'yes'}`,
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    'CapabilityBoundingSet=',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'SyslogIdentifier=scanner-tunnel',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  )
  return lines.join('\n') + '\n'
}

/** The `unit` command's spec. */
export const unitSpec: CommandSpec = {
  name: 'unit',
  usage:
    'scanner-tunnel unit [--config FILE] [--user USER] [--log-dir DIR] [--environment-file FILE] [--credential] [--allow-home] [--allow-tmp]',
  summary:
    'Prints a systemd unit that runs `scanner-tunnel run` (redirect it to /etc/systemd/system/).',
  description:
    'The token never appears on ExecStart: it comes from an EnvironmentFile=- holding TUNNEL_TOKEN=...\n' +
    '(default) or, with --credential, from LoadCredential=tunnel-token:<tunnel.tokenFile>, which `run`\n' +
    'reads from $CREDENTIALS_DIRECTORY/tunnel-token.\n' +
    'Every value is checked (no control characters; % and $ escaped; ExecStart words quoted), and\n' +
    "paths the unit's own sandbox hides (ProtectHome=yes: /home, /root, /run/user; PrivateTmp=yes:\n" +
    '/tmp, /var/tmp) are refused unless --allow-home / --allow-tmp relax it.',
  configFlags: false,
  options: [
    {
      ...configOption,
      description: `Config file read for defaults and written on ExecStart (default ${UNIT_DEFAULTS.config}).`,
    },
    {
      name: 'user',
      type: 'string',
      value: 'USER',
      description: 'Run as this user (default: DynamicUser=yes).',
    },
    {
      name: 'log-dir',
      type: 'string',
      value: 'DIR',
      description: `Log directory (default: log.dir or ${UNIT_DEFAULTS.logDir}).`,
    },
    {
      name: 'environment-file',
      type: 'string',
      value: 'FILE',
      description: `EnvironmentFile= with TUNNEL_TOKEN=... (default ${UNIT_DEFAULTS.envFile} for a named tunnel).`,
    },
    {
      name: 'credential',
      type: 'boolean',
      description: `Load the token with LoadCredential= from tunnel.tokenFile (default ${UNIT_DEFAULTS.tokenFile}).`,
    },
    {
      name: 'installed-config',
      type: 'string',
      value: 'FILE',
      description: 'Config path written on ExecStart when it differs from --config.',
    },
    {
      name: 'allow-home',
      type: 'boolean',
      description:
        'Allow paths under /home, /root or /run/user (ProtectHome=read-only instead of yes).',
    },
    {
      name: 'allow-tmp',
      type: 'boolean',
      description: 'Allow paths under /tmp or /var/tmp (PrivateTmp=no instead of yes).',
    },
    {
      name: 'node',
      type: 'string',
      value: 'PATH',
      description: 'Absolute path of node (default: this node).',
    },
    {
      name: 'cli',
      type: 'string',
      value: 'PATH',
      description: 'Absolute path of the scanner-tunnel script (default: this one).',
    },
  ],
}

function defaultCliPath(): string {
  const script = process.argv[1]
  if (script === undefined) return ''
  let path = resolve(script)
  try {
    path = realpathSync(path)
  } catch {
    // keep the resolved path
  }
  if (path.endsWith('.ts')) {
    const built = join(dirname(path), '..', 'dist', 'cli.js')
    if (existsSync(built)) return built
  }
  return path
}

/** `scanner-tunnel unit`: prints the systemd unit. */
export async function unitCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, help } = parseCommand(unitSpec, argv)
  if (help) {
    io.stdout.write(commandHelp(unitSpec))
    return 0
  }
  const str = (name: string): string | undefined => {
    const v = values[name]
    return typeof v === 'string' ? checkText(`--${name}`, v) : undefined
  }
  const configArg = str('config')
  const configFile = resolve(io.cwd, configArg ?? UNIT_DEFAULTS.config)
  const readFile = configArg !== undefined || existsSync(configFile)
  const { config } = await loadConfig({
    file: readFile ? configFile : undefined,
    env: io.env,
    cwd: io.cwd,
  })
  const logDirFlag = str('log-dir')
  const logDir = resolve(io.cwd, logDirFlag ?? config.log.dir ?? UNIT_DEFAULTS.logDir)
  const runFlags = config.log.dir === logDir ? [] : ['--log-dir', logDir]
  const credential =
    values.credential === true ? (config.tunnel.tokenFile ?? UNIT_DEFAULTS.tokenFile) : undefined
  const envFileFlag = str('environment-file')
  const envFile =
    envFileFlag !== undefined
      ? resolve(io.cwd, envFileFlag)
      : credential === undefined && tunnelKind(config) === 'named'
        ? UNIT_DEFAULTS.envFile
        : undefined
  // `run` stops cloudflared first, then the origin service.
  const longestStopMs =
    config.tunnel.gracePeriodMs +
    UNIT_DEFAULTS.stopMarginMs +
    (config.origin.command === undefined
      ? 0
      : config.origin.gracePeriodMs + UNIT_DEFAULTS.stopMarginMs)
  const node = str('node') ?? process.execPath
  const cli = str('cli') ?? defaultCliPath()
  if (!isAbsolute(node) || !isAbsolute(cli)) {
    throw new CliError(
      'ERR_TUNNEL_CLI_USAGE',
      `--node and --cli must be absolute paths, got "${node}" and "${cli}"`,
    )
  }
  if (cli.endsWith('.ts')) {
    io.stderr.write(
      `warning: ${cli} is a TypeScript source file; pass --cli with the built dist/cli.js\n`,
    )
  }
  const installed = str('installed-config')
  io.stdout.write(
    renderUnit({
      node,
      cli,
      configFile: installed === undefined ? configFile : resolve(io.cwd, installed),
      runFlags,
      user: str('user'),
      logDir,
      envFile,
      credential,
      stopTimeoutS: Math.ceil(longestStopMs / 1000) + UNIT_DEFAULTS.systemdMarginS,
      sandbox: { allowHome: values['allow-home'] === true, allowTmp: values['allow-tmp'] === true },
      comment:
        'Generated by `scanner-tunnel unit`. Install: copy to /etc/systemd/system/scanner-tunnel.service,\nthen `systemctl daemon-reload && systemctl enable --now scanner-tunnel`.',
    }),
  )
  return 0
}
