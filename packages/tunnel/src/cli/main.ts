import { checkCommand } from './commands/check.js'
import { reloadCommand } from './commands/reload.js'
import { runCommand } from './commands/run.js'
import { statusCommand } from './commands/status.js'
import { unitCommand } from './commands/unit.js'
import { CliError, isCliError, redactTokenLike, suggest } from './errors.js'
import type { CliIo, Command } from './io.js'
import { cliVersion } from './version.js'

const commands: Readonly<Record<string, { readonly run: Command; readonly summary: string }>> = {
  run: {
    run: runCommand,
    summary: 'Supervise cloudflared (and the origin service): the watchdog.',
  },
  status: { run: statusCommand, summary: 'Show the state of a running watchdog.' },
  reload: {
    run: reloadCommand,
    summary: 'Hand cloudflared over to a new binary or config without downtime.',
  },
  check: {
    run: checkCommand,
    summary: 'One-shot diagnosis: cloudflared, metrics, DNS, origin, public URL, clock.',
  },
  unit: { run: unitCommand, summary: 'Print a systemd unit for `run`.' },
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  return [
    'Usage: scanner-tunnel <command> [options]',
    '',
    'Keeps a Cloudflare Tunnel (cloudflared) and the service behind it running.',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     Show help (also `scanner-tunnel <command> --help`).',
    '  -v, --version  Print the version.',
    '',
  ].join('\n')
}

/**
 * Runs the CLI with `argv` (without node and the script) and resolves to the exit code. Usage
 * and config errors are printed as one line on stderr with exit code 2.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2), io)
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv
  try {
    if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
      if (first === 'help' && rest[0] !== undefined && rest[0] in commands) {
        return await main([rest[0], '--help'], io)
      }
      io.stdout.write(mainHelp())
      return first === undefined ? 2 : 0
    }
    if (first === '-v' || first === '--version' || first === 'version') {
      io.stdout.write(`${cliVersion()}\n`)
      return 0
    }
    const command = commands[first]
    if (command === undefined) {
      const guess = suggest(first, Object.keys(commands))
      throw new CliError(
        'ERR_TUNNEL_CLI_USAGE',
        `Unknown command "${first}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}. Commands: ${Object.keys(commands).join(', ')}.`,
      )
    }
    return await command.run(rest, io)
  } catch (error) {
    if (isCliError(error)) {
      io.stderr.write(`scanner-tunnel: ${redactTokenLike(error.message)}\n`)
      return error.exitCode
    }
    io.stderr.write(`scanner-tunnel: ${redactTokenLike((error as Error).stack ?? String(error))}\n`)
    return 1
  }
}
