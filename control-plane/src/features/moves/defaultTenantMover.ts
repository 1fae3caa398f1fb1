// The tenant mover the control plane uses unless a test injects another one.
import type { TenantMoverFactory } from './Move.js';

// Placeholder until branch moves-tenant lands createTenantMover (PgTenantMover.ts).
export const defaultTenantMover: TenantMoverFactory = () => {
  throw new Error('the tenant mover is not available in this build');
};
