// `npm run docs`: rewrites README.md's generated sections, the configuration reference (from
// src/config/schema.ts) and the metrics reference (from the metrics src/ops/metrics.ts
// registers), between their marker comments. Runs the build's output: `npm run docs` builds first.
// test/cli/reference.test.ts fails while README.md differs from what this would write.
import { readFileSync, writeFileSync } from 'node:fs';
import { updateReadme } from '../dist/cli/reference.js';

const readme = new URL('../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = updateReadme(before);
if (after !== before) writeFileSync(readme, after);
process.stdout.write(after === before ? 'README.md: the reference sections are up to date\n' : 'README.md: reference sections rewritten\n');
