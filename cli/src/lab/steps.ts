// A lab command is a list of steps run one after the other. How they are shown is the
// caller's choice (the CLI's live task list, or nothing); lab up also appends each
// step, its output and a failure to <dir>/lab.log, so a failure can point at a log that
// says how far it got. Never give a step's output a secret.
import { appendFileSync } from 'node:fs';

export interface StepReport {
  /** How the step is getting on, in one line. */
  output(line: string): void;
  /** The step found nothing to do. */
  skip(reason: string): void;
}

export interface Step {
  title: string;
  run(report: StepReport): Promise<void>;
}

/** Runs the steps in order and stops at the first that fails, rethrowing its error. */
export type StepRunner = (steps: Step[]) => Promise<void>;

/** The library's default: no output at all. */
export const runQuietly: StepRunner = async (steps) => {
  const report: StepReport = { output() {}, skip() {} };
  for (const step of steps) await step.run(report);
};

export type Log = (line: string) => void;

/** Appends timestamped lines to `logFile`. */
export function logTo(logFile: string): Log {
  return (line) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
    } catch {
      // the log is a convenience; a full disk shows up in the step that needs it
    }
  };
}

/** The same steps, each also writing its title, its output and a skip to `log`. */
export function logged(steps: Step[], log: Log): Step[] {
  return steps.map((step) => ({
    title: step.title,
    run: (report) => {
      log(step.title);
      return step.run({
        output(line) {
          log(`  ${line}`);
          report.output(line);
        },
        skip(reason) {
          log(`  skipped: ${reason}`);
          report.skip(reason);
        },
      });
    },
  }));
}
