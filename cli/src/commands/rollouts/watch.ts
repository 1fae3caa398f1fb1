import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { createWatchLoader, type WatchState } from '../../rollouts/watchState.js';

/** The rollout's state as the live view shows it (one document with --json, --once, or without a terminal). */
export type RolloutsWatchResult = WatchState;

export default class RolloutsWatch extends OrgplaneCommand<RolloutsWatchResult> {
  static override summary =
    "Watch a rollout live: stage, percentage, orgs covered, each SLO check's latest value and the last gate decision.";
  static override description =
    'Refreshes every --interval-ms until q or Ctrl-C. Without a terminal, or with --json, it prints the current state once as JSON and exits; --once prints it once for people.';
  static override examples = [
    '<%= config.bin %> rollouts watch new-invoices',
    '<%= config.bin %> rollouts watch new-invoices --once',
    '<%= config.bin %> rollouts watch new-invoices --json',
  ];
  static override args = {
    flag: Args.string({ description: 'the rollout flag, from `orgplane rollouts list`', required: true }),
  };
  static override flags = {
    once: Flags.boolean({ description: 'print the current state once and exit', default: false }),
    'interval-ms': Flags.integer({ description: 'how often to refresh', default: 1000, min: 100 }),
  };

  private live = false;
  private onceText: string | null = null;

  protected async execute(): Promise<RolloutsWatchResult> {
    const { args, flags } = await this.parse(RolloutsWatch);
    const load = createWatchLoader(this.api(), args.flag);
    // The first read happens here so a bad flag or token fails as a named error.
    const initial = await load();
    if (this.jsonEnabled() || !process.stdout.isTTY) return initial;
    // ink and react load only for people at a terminal: scripts start faster without them.
    const [{ render, renderToString }, React, { RolloutWatchApp, RolloutWatchView }] = await Promise.all([
      import('ink'),
      import('react'),
      import('../../rollouts/RolloutWatch.js'),
    ]);
    if (flags.once || !process.stdin.isTTY) {
      this.onceText = renderToString(React.createElement(RolloutWatchView, { state: initial }));
      return initial;
    }
    this.live = true;
    const app = render(React.createElement(RolloutWatchApp, { load, intervalMs: flags['interval-ms'], initial }), {
      exitOnCtrlC: true,
    });
    await app.waitUntilExit();
    return initial;
  }

  override async run(): Promise<RolloutsWatchResult> {
    const result = await this.execute();
    if (this.live) return undefined as unknown as RolloutsWatchResult;
    if (!this.jsonEnabled()) this.render(result);
    return result;
  }

  protected render(result: RolloutsWatchResult): void {
    // Without a terminal a script is reading: give it the document, as --json would.
    this.log(this.onceText ?? JSON.stringify(result, null, 2));
  }
}
