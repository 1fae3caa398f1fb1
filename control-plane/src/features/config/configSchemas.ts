import { Type } from 'typebox';
import { Digits, Query } from '../../http/schemas.js';
import { ConfigSnapshotSchema } from '../../http/wireSchemas.js';

export { ConfigSnapshotSchema };

export const WatchQuery = Query({
  since: Type.Optional(Digits),
});

/** The watch stream is text/event-stream (runtime/src/wire.ts describes its events). */
export const WatchStream = {
  description:
    'Server-sent events: `snapshot` (a ConfigSnapshot), `change` (a ConfigDelta, id: <version>), `heartbeat` at least every 15 s.',
  content: { 'text/event-stream': { schema: Type.String() } },
};
