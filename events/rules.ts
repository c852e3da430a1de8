import type { EventPattern } from './pattern.ts';

/**
 * A rule of the control plane's bus: events matching `pattern` go to the consumer function `target`. Declared once:
 * the CDK stack makes an EventBridge rule of each (with a retry policy and a dead-letter queue), and the local bus
 * routes to the same handlers with the same patterns (`events/pattern.ts`).
 */
export interface EventRule {
  /** PascalCase, unique: the rule's construct id. */
  readonly name: string;
  readonly description: string;
  readonly pattern: EventPattern;
  /** The consumer function, by its `functions/<name>` folder (the stack refuses a name it does not deploy). */
  readonly target: string;
}

/**
 * The rules. Consumers (expiry sweeps, notifications, findings, CRL publication) come with the capabilities that need
 * them; each is a function of its own, idempotent by `detail.eventId`.
 */
export const EVENT_RULES: readonly EventRule[] = [];
