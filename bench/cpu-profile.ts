import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

/**
 * Preloaded into a platform process (`NODE_OPTIONS=--import=<this file>`, since Node does
 * not take `--cpu-prof` there) when BENCH_CPU_PROF_DIR is set: profiles the whole process
 * with V8's sampling profiler and writes `<role>-<pid>.cpuprofile` to that folder when it
 * exits, as `node --cpu-prof` would.
 */
const folder = process.env.BENCH_CPU_PROF_DIR;
if (folder) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // An in-process inspector session answers synchronously, so the profile is written before the process ends.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      const role = process.argv[1]?.match(/apps\/(\w+)\//)?.[1] ?? 'node';
      writeFileSync(join(folder, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
