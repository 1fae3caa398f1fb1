// @orgplane/kit: the helpers the runtime, the control plane and the CLI share. No
// dependencies, so the runtime SDK can depend on it without pulling anything in.
export { type BackoffOptions, backoffMs } from './backoff.js';
export { type SleepOptions, sleep } from './sleep.js';
export {
  inTransaction,
  sqlState,
  type TransactionClient,
  type TransactionOptions,
  type TransactionPool,
  withSession,
} from './transaction.js';
