import { defineConfig } from 'tsup'

// Dual build like the other packages: ESM (dist/*.js) and CommonJS (dist/*.cjs), so that
// `require('@scanner/tunnel')` works without relying on Node's require(esm) for this package,
// and CommonJS TypeScript projects get `.d.cts` types. `shims` maps `import.meta.url` (the
// simulator's path, the CLI's version) to the file's URL in the CommonJS output. The bin
// imports dist/cli.js (ESM); dist/cli.cjs is a by-product nothing points to.
export default defineConfig({
  entry: { index: 'src/index.ts', testing: 'src/testing.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  shims: true,
  clean: true,
  target: 'node20',
})
