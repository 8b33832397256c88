/**
 * Loaded into the gateway process with NODE_OPTIONS=--require (GatewayUnderTest runs the `udt gateway` CLI):
 * Date.now() reads the soak's virtual network time from an 8-byte file (a float64, ms since the epoch) that the
 * soak rewrites before every datagram a terminal sends. The fleet gives its in-process gateway the same clock
 * through a SharedArrayBuffer; a separate process needs a shared page, and the page cache is one. So the gateway's
 * receivedAt, its response-cache lifetime and the time it tells terminals agree with the terminals' world, which
 * runs a thousand times faster than the wall clock. Timers (setTimeout) keep real time.
 */
'use strict';
const fs = require('node:fs');

const file = process.env.UDT_SOAK_CLOCK_FILE;
if (file) {
  const descriptor = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(8);
  Date.now = function now() {
    fs.readSync(descriptor, buffer, 0, 8, 0);
    return Math.floor(buffer.readDoubleLE(0));
  };
}
