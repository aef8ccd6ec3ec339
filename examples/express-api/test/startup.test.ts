import { fileURLToPath } from 'node:url'
import { describeStartupFailures } from '@scanner-examples/domain/smoke'

// Starts `src/server.ts` with a bad setting or a busy port: one line, exit 1, no stack trace.
describeStartupFailures('express-api', fileURLToPath(new URL('..', import.meta.url)))
