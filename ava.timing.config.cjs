// The timing tests against independent references (test/timing): a phase of their own, one file
// at a time, after the rest of the suite, so no other test competes for the CPUs they time.
module.exports = {
  files: ['dist/test/timing/**/*.test.js'],
  timeout: '180s',
  concurrency: 1,
  workerThreads: false,
};
