import { fileURLToPath } from 'node:url'
import { describeExampleSmoke } from '@scanner-examples/domain/smoke'

// Starts `src/server.ts` as a real process on port 0 (simulator tunnel, loopback DNS) and
// checks health, API, metrics, error IDs, the feed breaker and the SIGTERM shutdown.
describeExampleSmoke('fastify-api', fileURLToPath(new URL('..', import.meta.url)))
