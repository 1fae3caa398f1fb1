// The live view of `orgplane rollouts watch <flag>`: stage, percentage, orgs covered,
// each SLO check's latest value against its threshold, and the last gate decision.
import { Box, Text, useApp, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import type { WatchCheck, WatchCoverage, WatchDecision, WatchState } from './watchState.js';

const STATUS_COLOR: Record<WatchState['status'], string> = {
  running: 'green',
  paused: 'yellow',
  killed: 'red',
  completed: 'cyan',
  rolled_back: 'red',
};

const OUTCOME_COLOR: Record<WatchCheck['outcome'], string> = {
  pass: 'green',
  fail: 'red',
  error: 'red',
  'no-data': 'yellow',
  pending: 'gray',
};

const fmtNumber = (n: number): string => (Number.isInteger(n) ? n.toLocaleString('en-US') : Number(n.toPrecision(4)).toString());

export function stageText(state: Pick<WatchState, 'stageIndex' | 'stageCount' | 'percent' | 'pilot'>): string {
  if (state.stageIndex < 0) return `off (0/${state.stageCount})`;
  const pilot = state.stageIndex === 0 && state.pilot ? ' + pilot' : '';
  return `${state.stageIndex + 1}/${state.stageCount} at ${state.percent}%${pilot}`;
}

export function coverageText(c: WatchCoverage, pilotSize: number | null): string {
  const share = `${(c.share * 100).toFixed(1)}%`;
  if (c.orgs === null) {
    const pilot = pilotSize ? `pilot ${fmtNumber(pilotSize)} orgs + ` : '';
    return `${pilot}${share} of orgs (population unknown: no pilot strata to count it)`;
  }
  const approx = c.estimated ? '~' : '';
  return `${approx}${fmtNumber(c.orgs)} of ${fmtNumber(c.population ?? 0)} orgs (${approx}${share})${c.estimated ? ', estimated from the bucket share' : ''}`;
}

export function decisionText(d: WatchDecision): string {
  const stage = d.stageIndex < 0 ? 'off' : `stage ${d.stageIndex + 1}`;
  const check = d.check ? ` (${d.check})` : '';
  const what =
    d.source === 'gate' && d.action
      ? `${d.action} at ${stage}${check}`
      : `${d.outcome === 'pass' ? 'passing' : 'failing'} check${check} at ${stage}, inferred from the analyses`;
  return `${what}, ${d.at}${d.message ? `: ${d.message}` : ''}`;
}

function CheckLine({ check }: { check: WatchCheck }) {
  const value = check.value === null ? '—' : fmtNumber(check.value);
  return (
    <Box>
      <Box width={24}>
        <Text>{check.name}</Text>
      </Box>
      <Box width={28}>
        <Text color={OUTCOME_COLOR[check.outcome]}>
          {value} {check.op} {fmtNumber(check.threshold)}
        </Text>
      </Box>
      <Text color={OUTCOME_COLOR[check.outcome]} bold>
        {check.outcome.toUpperCase()}
      </Text>
      {check.message ? <Text dimColor> {check.message}</Text> : null}
    </Box>
  );
}

export function RolloutWatchView({ state, error }: { state: WatchState | null; error?: string | null }) {
  if (!state) {
    return <Text color={error ? 'red' : 'gray'}>{error ?? 'loading…'}</Text>;
  }
  const decision = state.lastDecision;
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>{state.flag}</Text>
        <Text> </Text>
        <Text color={STATUS_COLOR[state.status]} bold>
          {state.status}
        </Text>
        {state.enabled ? null : <Text color="red"> (off for every org)</Text>}
        <Text dimColor>
          {' '}
          {state.mode}, on failure {state.onFailure}, config v{state.version}
        </Text>
      </Box>
      <Text>
        stage {stageText(state)}
        {state.stageStartedAt ? <Text dimColor> since {state.stageStartedAt}</Text> : null}
      </Text>
      <Text>
        pilot{' '}
        {state.pilot
          ? `${state.pilot.cohort} (${state.pilot.size === null ? 'size unknown' : `${fmtNumber(state.pilot.size)} orgs`})`
          : '—'}
      </Text>
      <Text>covered {coverageText(state.coverage, state.pilot?.size ?? null)}</Text>
      <Box flexDirection="column" marginTop={1}>
        <Text underline>checks (stage {state.stageIndex < 0 ? '—' : state.stageIndex + 1})</Text>
        {state.checks.length === 0 ? <Text dimColor>no SLO checks on this stage</Text> : null}
        {state.checks.map((c) => (
          <CheckLine key={c.name} check={c} />
        ))}
      </Box>
      <Box marginTop={1}>
        {/* One paragraph, so a long decision wraps as text rather than as two columns. */}
        <Text>
          last gate decision{' '}
          {decision ? (
            <Text color={decision.outcome === 'pass' ? 'green' : 'red'}>{decisionText(decision)}</Text>
          ) : (
            <Text dimColor>none yet</Text>
          )}
        </Text>
      </Box>
      {error ? <Text color="red">refresh failed: {error} (showing the last good state)</Text> : null}
      <Text dimColor>updated {state.observedAt} · q to quit</Text>
    </Box>
  );
}

/** Polls `load` every `intervalMs` and redraws; q, Esc or Ctrl-C exits. */
export function RolloutWatchApp({
  load,
  intervalMs,
  initial = null,
}: {
  load: () => Promise<WatchState>;
  intervalMs: number;
  initial?: WatchState | null;
}) {
  const { exit } = useApp();
  const [state, setState] = useState<WatchState | null>(initial);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef(false);
  // A first state given by the caller is shown at once; polling starts after one interval.
  const seeded = useRef(initial !== null);

  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) exit();
  });

  useEffect(() => {
    let stopped = false;
    const tick = async () => {
      // A slow control plane must not pile requests up: skip a tick while one is out.
      if (inFlight.current) return;
      inFlight.current = true;
      try {
        const next = await load();
        if (!stopped) {
          setState(next);
          setError(null);
        }
      } catch (err) {
        if (!stopped) setError((err as Error).message);
      } finally {
        inFlight.current = false;
      }
    };
    if (!seeded.current) void tick();
    const timer = setInterval(tick, intervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [load, intervalMs]);

  return <RolloutWatchView state={state} error={error} />;
}
