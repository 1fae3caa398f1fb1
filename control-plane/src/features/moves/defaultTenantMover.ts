// The tenant mover the control plane uses unless a test injects another one.
import type { TenantMoverFactory } from './Move.js';
import { createTenantMover } from './tenant/PgTenantMover.js';

export const defaultTenantMover: TenantMoverFactory = createTenantMover;
