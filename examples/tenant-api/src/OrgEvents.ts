// Org events for the SSE stream: what this instance wrote, plus what other instances wrote
// (Redis pub/sub on one channel per org, through one subscriber connection per instance).
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

export interface OrgEvent {
  type: string;
  orgId: number;
  id: number;
  at: string;
}

const CHANNEL = 'orgplane:tenant-api:events';

export class OrgEvents {
  private readonly emitter = new EventEmitter();

  constructor(
    private readonly publisher: Redis | null,
    subscriber: Redis | null,
  ) {
    this.emitter.setMaxListeners(0);
    if (subscriber) {
      void subscriber.subscribe(CHANNEL).catch(() => {});
      subscriber.on('message', (_channel: string, message: string) => {
        try {
          const event = JSON.parse(message) as OrgEvent;
          this.emitter.emit(String(event.orgId), event);
        } catch {
          // Not ours.
        }
      });
    }
  }

  /** Tell every instance; locally only when Redis is not there. */
  publish(event: OrgEvent): void {
    if (this.publisher)
      void this.publisher.publish(CHANNEL, JSON.stringify(event)).catch(() => this.emitter.emit(String(event.orgId), event));
    else this.emitter.emit(String(event.orgId), event);
  }

  subscribe(orgId: number, listener: (event: OrgEvent) => void): () => void {
    this.emitter.on(String(orgId), listener);
    return () => this.emitter.off(String(orgId), listener);
  }
}
