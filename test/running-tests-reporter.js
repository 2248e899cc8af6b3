// A Jest reporter that keeps, in a file, the tests running right now (one line per test file in
// progress), so that a run stopped by its time limit (.ci/run) can say which test it was in; and
// that says, after the run, what still keeps the process alive (open handles), at no cost to the run.
// The file: $JEST_RUNNING_FILE, or jest-running.txt in the project root (ignored by git).
const fs = require('node:fs');
const path = require('node:path');

class RunningTestsReporter {
  constructor(globalConfig) {
    this.root = globalConfig.rootDir;
    this.file = process.env.JEST_RUNNING_FILE || path.join(this.root, 'jest-running.txt');
    this.running = new Map();
  }

  rel(p) {
    return path.relative(this.root, p);
  }

  write() {
    try {
      fs.writeFileSync(this.file, [...this.running.values()].map((l) => `${l}\n`).join(''));
    } catch {
      // the report is a help, never a reason to fail the run
    }
  }

  onRunStart() {
    this.running.clear();
    this.write();
    this.before = resources();
  }

  onTestFileStart(test) {
    this.running.set(test.path, `${this.rel(test.path)}: loading, or in a beforeAll hook`);
    this.write();
  }

  onTestCaseStart(test, info) {
    this.running.set(test.path, `${this.rel(test.path)} > ${info.fullName}`);
    this.write();
  }

  onTestCaseResult(test, result) {
    this.running.set(test.path, `${this.rel(test.path)}: after "${result.fullName}" (${result.status}), in a hook or between tests`);
    this.write();
  }

  onTestFileResult(test) {
    this.running.delete(test.path);
    this.write();
  }

  onRunComplete() {
    this.running.clear();
    this.write();
    // What keeps this process alive after the run that did not before it (Jest's own timers aside;
    // tests run in band here when there is one worker).
    const open = resources();
    for (const r of this.before ?? []) {
      const i = open.indexOf(r);
      if (i >= 0) open.splice(i, 1);
    }
    if (open.length > 0) {
      process.stderr.write(`open handles after the run: ${open.join(', ')} (run the file with --detectOpenHandles to see where they were opened)\n`);
    }
  }
}

function resources() {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
}

module.exports = RunningTestsReporter;
