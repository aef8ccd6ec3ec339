/** A stream the CLI writes to (process.stdout or a test buffer). */
export interface CliStream {
  write(chunk: string): unknown
  readonly isTTY?: boolean
}

/** Everything a command needs from the process, so tests can run commands in-process. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly stdout: CliStream
  readonly stderr: CliStream
  /**
   * Subscribes to a process signal; returns a disposer. `run` uses it for SIGTERM, SIGINT and
   * SIGHUP. Without it (in-process tests), `run` only stops through `signal`.
   */
  readonly onSignal?: (signal: NodeJS.Signals, handler: () => void) => () => void
  /** Stops `run` like SIGTERM would (in-process tests). */
  readonly signal?: AbortSignal
}

/** A command: receives the arguments after its name and resolves to the exit code. */
export type Command = (argv: readonly string[], io: CliIo) => Promise<number>
