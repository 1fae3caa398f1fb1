// The rollout endpoints' paths; flags and cohort names go into the path escaped.
export const rolloutPath = (flag: string, action?: string): string =>
  `/v1/rollouts/${encodeURIComponent(flag)}${action ? `/${action}` : ''}`;

export const cohortPath = (name: string): string => `/v1/cohorts/${encodeURIComponent(name)}`;
