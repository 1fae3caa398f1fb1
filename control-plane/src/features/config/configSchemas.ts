import { Type } from 'typebox';
import { Digits, Query } from '../../http/schemas.js';
import { ConfigSnapshotSchema } from '../../http/wireSchemas.js';

export { ConfigSnapshotSchema };

export const WatchQuery = Query({
  since: Type.Optional(Digits),
  format: Type.Optional(
    Type.Union([Type.Literal('json'), Type.Literal('compact')], {
      description: '`compact`: a snapshot comes as a `compact-snapshot` event (base64 of the gzipped compact encoding) instead of JSON',
    }),
  ),
});

/** The watch stream is text/event-stream (runtime/src/wire.ts describes its events). */
export const WatchStream = {
  description:
    'Server-sent events: `snapshot` (a ConfigSnapshot; `compact-snapshot` with `format=compact`), `change` (a ConfigDelta, id: <version>), `heartbeat` at least every 15 s.',
  content: { 'text/event-stream': { schema: Type.String() } },
};
