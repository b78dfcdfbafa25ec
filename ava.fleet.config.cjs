// The fleet tests (test/fleet): three sshd nodes in namespaces driven by Ansible, a native build of
// the packed package on the first node, and each node's comparison. Minutes long, so a phase of
// their own with a longer timeout, after the timing tests; nothing else competes for the CPUs.
module.exports = {
  files: ['dist/test/fleet/**/*.test.js'],
  timeout: '15m',
  concurrency: 1,
  workerThreads: false,
};
