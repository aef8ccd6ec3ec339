#!/usr/bin/env node
/**
 * The `scanner-tunnel` command. This file only wires the process (argv, environment, streams,
 * signals, exit code) to {@link main}; the commands live in `./cli/`.
 *
 * @module @scanner/tunnel/cli
 */
import { main } from './cli/main.js'

const exitCode = await main(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  onSignal: (signal, handler) => {
    process.on(signal, handler)
    return () => {
      process.off(signal, handler)
    }
  },
})
process.exitCode = exitCode
// Everything is stopped by now; if a stray handle still holds the event loop, do not hang.
setTimeout(() => process.exit(exitCode), 2000).unref()
