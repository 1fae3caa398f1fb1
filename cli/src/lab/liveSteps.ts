// The CLI's live view of a lab command: its steps as a listr2 task list on stderr, for
// people at a terminal. Under --json or without a terminal the steps run quietly, and
// listr2 is not even loaded.
import type { ListrTask } from 'listr2';
import { runQuietly, type Step, type StepRunner } from './steps.js';

function toTask(step: Step): ListrTask {
  return {
    title: step.title,
    task: (_ctx, task) =>
      step.run({
        output: (line) => {
          task.output = line;
        },
        skip: (reason) => task.skip(reason),
      }),
  };
}

const runLive: StepRunner = async (steps) => {
  if (steps.length === 0) return;
  const { DefaultRenderer, Listr, ListrLogger, PRESET_TIMER, ProcessOutput, SimpleRenderer } = await import('listr2');
  /** stdout carries the command's result, so the task list draws on stderr whatever stdout is. */
  class StderrRenderer extends DefaultRenderer {
    static override nonTTY = true;
  }
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  // listr2 wraps its list at process.stdout's width: a terminal that reports none (a pty
  // nobody sized, as under `script`) gets one line per event instead of a redrawn list.
  const sized = Boolean(process.stderr.columns) && process.stdout.columns !== 0;
  const list = sized
    ? new Listr(steps.map(toTask), {
        renderer: StderrRenderer,
        // The command prints the named error and its hint right below the list.
        rendererOptions: { logger, timer: PRESET_TIMER, collapseSkips: false, showErrorMessage: false },
        // Ctrl-C is the lab's to handle (it stops what it started); listr2's would exit at once.
        registerSignalListeners: false,
      })
    : new Listr(steps.map(toTask), {
        renderer: SimpleRenderer,
        rendererOptions: { logger, timer: PRESET_TIMER },
        registerSignalListeners: false,
      });
  await list.run();
};

/** A live task list unless `json` or stderr is not a terminal. */
export function stepRunner(json: boolean): StepRunner {
  return !json && process.stderr.isTTY ? runLive : runQuietly;
}
