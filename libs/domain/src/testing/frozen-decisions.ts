import type { SrvDefinition } from '../catalogue';
import type { ServiceRequestEvaluatedV1 } from '../events';

/** The fixture of stored decisions (frozen-decisions.json): its shape, shared by the spec that holds it and the script that adds to it. */
export const FIXTURE = 'frozen-decisions.json';

export interface FrozenDecision {
  case: string;
  /** The stream the event is in (a stored decision's target is its device's). */
  stream: string;
  /** The event's data as the store holds it. */
  stored: Record<string, unknown>;
  /** The decision every reader gets from it, reasons rendered. */
  decoded: ServiceRequestEvaluatedV1;
}

export interface Fixture {
  about: string;
  /** Each rule set's edition (`id@version`: edition), which the templates read. */
  ruleSets: Record<string, number>;
  /** Each User Role's Registration Data responsibility (null: none). */
  roles: Record<string, string | null>;
  /** By edition, each RemotePartyRole's slot party (null: none). */
  slotParties: Record<string, Record<string, string | null>>;
  /** By edition, what the templates read of each SRV's definition in the catalogue. */
  catalogues: Record<string, Record<string, Record<string, unknown>>>;
  decisions: FrozenDecision[];
}

/** The fields of an SRV's definition the templates read (decision-templates.ts, def(c)). */
const DECODED_SRV_FIELDS = ['name', 'critical', 'eligibleRoles', 'deviceTypes', 'allowedStatuses', 'nonDevice', 'futureDating'] as const satisfies ReadonlyArray<keyof SrvDefinition>;

/** What the templates read of an SRV's definition. */
export const readByTemplates = (d: SrvDefinition): Record<string, unknown> => Object.fromEntries(DECODED_SRV_FIELDS.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));

/** One entry per case, rule set and template set. */
export const entryKey = (e: FrozenDecision) => `${e.case} | ${String(e.stored.ruleSet)} | templates ${String(e.stored.templates ?? 1)}`;
