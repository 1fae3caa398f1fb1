// A service instance that takes connection slots and an idempotency claim, then hangs until
// it is killed: what a crashed instance leaves behind. Runs the built guards (dist).
// argv: redisUrl orgId userId connections leaseTtlMs [idempotencyKey body]
import { Redis } from 'ioredis';
import { Guards } from '../../dist/guards/index.js';

const [url, org, user, count, ttl, key, body] = process.argv.slice(2);
const redis = new Redis(url);
const guards = new Guards({
  redis,
  config: { guardConfig: () => ({ rateLimits: [], corsOrigins: [] }) },
  connections: { leaseTtlMs: Number(ttl) },
  idempotency: { inProgressSeconds: 1 },
  redisTimeoutMs: 1000,
});
const identity = { orgId: Number(org), userId: user, tier: 'standard' };
for (let i = 0; i < Number(count); i++) {
  const got = await guards.connections.acquire(identity.orgId, identity.userId);
  if (!got.ok) throw new Error(`slot ${i} refused`);
}
if (key) {
  const claimed = await guards.claim('POST', `/orgs/${org}/things`, { 'idempotency-key': key }, Buffer.from(body), identity);
  if (claimed.kind !== 'pass' || !claimed.claim) throw new Error(`could not claim: ${JSON.stringify(claimed)}`);
}
process.stdout.write('held\n');
setInterval(() => {}, 1000);
