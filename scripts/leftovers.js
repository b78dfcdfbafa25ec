#!/usr/bin/env node
// After a whole test run: nothing isoprobe makes may still exist on the machine. Exit 1 if it does.
'use strict';
const { findLeftovers } = require('../dist/lib/targets/leftovers');
findLeftovers().then((l) => {
  const all = [...l.containers, ...l.net, ...l.loops, ...l.tempDirs, ...l.cgroups];
  if (all.length) {
    console.error(`leftovers: ${all.length} objects isoprobe made are still there:\n  ${all.join('\n  ')}`);
    process.exit(1);
  }
  console.log('leftovers: none (containers, namespaces, veths, taps, loop devices, temporary directories, cgroups)');
});
