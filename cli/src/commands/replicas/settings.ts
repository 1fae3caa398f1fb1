import * as Flags from '@oclif/core/flags';
import type { HealthSettingsDocument } from '@orgplane/control-plane/api';
import { OrgplaneCommand } from '../../baseCommand.js';
import { CliError, ExitCode } from '../../errors.js';
import { reasonFlag } from '../../flags.js';

export type ReplicasSettingsResult = HealthSettingsDocument;

export default class ReplicasSettings extends OrgplaneCommand<ReplicasSettingsResult> {
  static override summary = 'Show or change the thresholds the health checker judges replicas by. Changes are audited.';
  static override description =
    'healthy below --lag-warn-seconds, lagging from it, unhealthy from --lag-critical-seconds (or --lag-critical-bytes); the warning must stay below the critical level (INVALID_THRESHOLDS otherwise, nothing changes).';
  static override examples = [
    '<%= config.bin %> replicas settings',
    '<%= config.bin %> replicas settings --lag-warn-seconds 5 --lag-critical-seconds 10 --reason "back to defaults"',
  ];
  static override flags = {
    'lag-warn-seconds': Flags.string({ description: 'lagging from this many seconds of replay lag' }),
    'lag-critical-seconds': Flags.string({ description: 'unhealthy from this many seconds' }),
    'lag-critical-bytes': Flags.integer({ description: 'unhealthy from this many bytes of WAL not yet replayed', min: 1 }),
    'unreachable-after': Flags.integer({ description: 'failed probes in a row before unreachable', min: 1 }),
    'healthy-after': Flags.integer({ description: 'good probes in a row before a better state (hysteresis)', min: 1 }),
    'probe-timeout-ms': Flags.integer({ description: 'connect and statement timeout of a probe', min: 50 }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<ReplicasSettingsResult> {
    const { flags } = await this.parse(ReplicasSettings);
    const patch = {
      lagWarnSeconds: seconds(flags['lag-warn-seconds'], 'lag-warn-seconds'),
      lagCriticalSeconds: seconds(flags['lag-critical-seconds'], 'lag-critical-seconds'),
      lagCriticalBytes: flags['lag-critical-bytes'],
      unreachableAfterProbes: flags['unreachable-after'],
      healthyAfterProbes: flags['healthy-after'],
      probeTimeoutMs: flags['probe-timeout-ms'],
    };
    if (Object.values(patch).every((v) => v === undefined)) return this.api().get<ReplicasSettingsResult>('/v1/replicas/settings');
    return this.api().send<ReplicasSettingsResult>('PATCH', '/v1/replicas/settings', { ...patch, reason: flags.reason });
  }

  protected render(s: ReplicasSettingsResult): void {
    this.log(`healthy < ${s.lagWarnSeconds} s <= lagging < ${s.lagCriticalSeconds} s <= unhealthy (or >= ${s.lagCriticalBytes} bytes)`);
    this.log(
      `unreachable after ${s.unreachableAfterProbes} failed probes; back after ${s.healthyAfterProbes} good ones; probe timeout ${s.probeTimeoutMs} ms`,
    );
  }
}

function seconds(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(value > 0)) {
    throw new CliError(
      'INVALID_INPUT',
      `--${flag} must be a positive number of seconds, got '${raw}'`,
      `for example: --${flag} 5`,
      ExitCode.usage,
    );
  }
  return value;
}
