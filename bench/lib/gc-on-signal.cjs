/*
 * Preloaded by bench/memory.ts into each process it starts (NODE_OPTIONS="--expose-gc --require <this>"):
 * on SIGUSR2 a full GC runs twice and process.memoryUsage() is written to
 * $BENCH_GC_DIR/<pid>.json, so the bench can tell memory a process keeps from garbage not yet collected.
 * Bench-only: no product process installs a SIGUSR2 handler or calls gc().
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_GC_DIR;
if (dir && typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    global.gc();
    global.gc();
    const file = path.join(dir, `${process.pid}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
