#!/usr/bin/env node
/** The `modelship` executable (package.json `bin`). */
import { run } from './program.js';

// Exits explicitly: a registry watch or an idle keep-alive socket must not keep a finished command alive.
// stdout and stderr to pipes and files are synchronous on Linux and macOS, so nothing written is lost.
process.exit(await run(process.argv));
