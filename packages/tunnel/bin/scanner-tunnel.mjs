#!/usr/bin/env node
// The `scanner-tunnel` command: the built CLI (dist/cli.js). A file that exists before the
// build, so that package managers can link the bin in a fresh workspace.
import '../dist/cli.js'
