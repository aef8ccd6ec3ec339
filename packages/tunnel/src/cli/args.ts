import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { CliError, suggest } from './errors.js'
import { CONFIG_ENV, configSchema, defaultText, expectedText } from './schema.js'
import type { ConfigKey } from './schema.js'
import { formatTable } from './table.js'

/** A command-specific option (not a config key). */
export interface CommandOption {
  readonly name: string
  readonly type: 'string' | 'boolean'
  readonly value?: string
  readonly description: string
  readonly short?: string
}

/** What a command accepts, for parsing and for its `--help`. */
export interface CommandSpec {
  readonly name: string
  readonly usage: string
  readonly summary: string
  readonly description?: string
  readonly options: readonly CommandOption[]
  /** Whether the config keys are accepted as flags (run, check). */
  readonly configFlags: boolean
}

/** Parsed arguments of a command. */
export interface ParsedCommand {
  readonly values: Readonly<Record<string, unknown>>
  readonly positionals: readonly string[]
  readonly help: boolean
}

const HELP: CommandOption = {
  name: 'help',
  short: 'h',
  type: 'boolean',
  description: 'Show this help.',
}

const TOKEN_FLAG_RE = /^--(tunnel-)?token(=|$)/

function tokenFlagError(): CliError {
  return new CliError(
    'ERR_TUNNEL_CLI_USAGE',
    '--token is not accepted: a token on the command line is visible to every user of the machine ' +
      '(ps, /proc/<pid>/cmdline). Set TUNNEL_TOKEN in the environment (systemd: EnvironmentFile=) ' +
      'or put it in a file and pass --tunnel-token-file FILE (systemd: LoadCredential=).',
  )
}

function configFlagOption(entry: ConfigKey): NonNullable<ParseArgsConfig['options']>[string] {
  if (entry.type === 'boolean') return { type: 'boolean' }
  if (entry.type === 'list' || entry.type === 'record') return { type: 'string', multiple: true }
  return { type: 'string' }
}

/**
 * Parses a command's arguments with `node:util` `parseArgs` in strict mode. Unknown flags get a
 * "did you mean" hint, `--token` is refused with the reason.
 */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand {
  for (const arg of argv) {
    if (arg === '--') break
    if (TOKEN_FLAG_RE.test(arg)) throw tokenFlagError()
  }
  const options: NonNullable<ParseArgsConfig['options']> = {}
  for (const opt of [...spec.options, HELP]) {
    options[opt.name] =
      opt.short === undefined ? { type: opt.type } : { type: opt.type, short: opt.short }
  }
  if (spec.configFlags) {
    for (const entry of configSchema) options[entry.flag.slice(2)] = configFlagOption(entry)
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    })
    return { values, positionals, help: values.help === true }
  } catch (error) {
    const message = (error as Error).message
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1]
    if (unknown !== undefined) {
      const guess = suggest(
        unknown,
        Object.keys(options).map((o) => `--${o}`),
      )
      throw new CliError(
        'ERR_TUNNEL_CLI_USAGE',
        `Unknown option ${unknown} for "scanner-tunnel ${spec.name}"${guess === undefined ? '' : ` (did you mean ${guess}?)`}. See scanner-tunnel ${spec.name} --help.`,
        { cause: error },
      )
    }
    throw new CliError(
      'ERR_TUNNEL_CLI_USAGE',
      `${message.split('\n')[0] ?? message} See scanner-tunnel ${spec.name} --help.`,
      { cause: error },
    )
  }
}

function valueHint(entry: ConfigKey): string {
  switch (entry.type) {
    case 'boolean':
      return ''
    case 'enum':
      return ` <${(entry.values ?? []).join('|')}>`
    case 'integer':
    case 'number':
      return ' N'
    case 'url':
      return ' URL'
    case 'path':
      return ' PATH'
    case 'listen':
      return ' HOST:PORT'
    case 'record':
      return ' KEY=VALUE'
    case 'command':
      return ' "CMD ARGS"'
    default:
      return ' VALUE'
  }
}

/** The config keys as help text: flag, key, env var, description, type, default. */
export function configHelp(): string {
  const lines: string[] = []
  for (const entry of configSchema) {
    const flag =
      entry.type === 'boolean'
        ? `${entry.flag}, --no-${entry.flag.slice(2)}`
        : `${entry.flag}${valueHint(entry)}`
    lines.push(`  ${flag}`)
    lines.push(`      ${entry.key} · ${entry.env}`)
    lines.push(
      `      ${entry.description} Expects ${expectedText(entry)}. Default: ${defaultText(entry)}.`,
    )
  }
  return lines.join('\n')
}

/** The `--help` text of a command, generated from its spec and the config schema. */
export function commandHelp(spec: CommandSpec): string {
  const rows = [...spec.options, HELP].map((o) => [
    `${o.short === undefined ? '    ' : `-${o.short}, `}--${o.name}${o.value === undefined ? '' : ` ${o.value}`}`,
    o.description,
  ])
  const parts = [
    `Usage: ${spec.usage}`,
    '',
    spec.summary,
    ...(spec.description === undefined ? [] : ['', spec.description]),
    '',
    'Options:',
    formatTable(rows, '  '),
  ]
  if (spec.configFlags) {
    parts.push(
      '',
      `Configuration (file key · environment variable; flags override ${ENV_HINT}, which override the config file):`,
      configHelp(),
      '',
      'The token is read from TUNNEL_TOKEN, $CREDENTIALS_DIRECTORY/tunnel-token (systemd LoadCredential=)',
      'or the file named by tunnel.tokenFile, never from a flag.',
    )
  }
  return parts.join('\n') + '\n'
}

const ENV_HINT = 'SCANNER_TUNNEL_* variables'

/** The `--config` option shared by run, check and unit. */
export const configOption: CommandOption = {
  name: 'config',
  short: 'c',
  type: 'string',
  value: 'FILE',
  description: `Config file, JSON or YAML (also ${CONFIG_ENV}).`,
}
