import {
  parseChangeInventory,
  parsePlaceCertificate,
  parseRecordRegistration,
  parseRegisterUserRole,
  type AuditJobRecordedV1,
  type AuditJobQueuedV1,
  type AuditJobStartedV1,
  type ChangeInventoryInput,
  type LedgerCommand,
  type PlaceCertificateInput,
  type RecordRegistrationInput,
  type RegisterUserRoleInput,
  type RuleSet,
  type ServiceRequest,
  type SubmitServiceRequest,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { CommandHandler, type CommandWiring, type Handled } from './commands/handler';
import { recordAuditJob, recordAuditJobQueued, recordAuditJobStart } from './commands/audit-job';
import { changeInventory, placeCertificate } from './commands/device';
import { recordRegistration } from './commands/meter-point';
import { submitResult, submitServiceRequest, type SubmitResult } from './commands/service-request';
import { registerUserRole } from './commands/user';
import type { CommandContext } from './streams';

export { RequestIdReusedError } from '@ledger/domain';

/** What a command did: `written` false when the same fact was already recorded (a retry). */
export interface CommandResult {
  stream: string;
  written: boolean;
  position: string | null;
  revision: string | null;
}

/** The commands that record a fact on one stream (every command but a service request, whose answer is its decision). */
export type RecordCommand = Exclude<LedgerCommand, SubmitServiceRequest>;

/**
 * The ledger's commands. Each is a typed value (the intake's output, or one of the methods below
 * checks raw input into it with the domain's parse function), decided by its stream's decider in
 * libs/domain/src/deciders and run by the one CommandHandler (libs/ledger/src/commands): fold the
 * stream, decide, append with the revision read as the expected revision, retry on a conflict.
 */
export class Ledger {
  private readonly commands: CommandHandler;

  constructor(
    readonly store: EventStore,
    readonly ruleSet: RuleSet,
  ) {
    this.commands = new CommandHandler(store);
  }

  /** Records a typed command's fact (idempotent: the same command sent again writes nothing). */
  async execute(command: RecordCommand, ctx: CommandContext): Promise<CommandResult> {
    return commandResult(await this.handle(command, ctx));
  }

  /**
   * Judges a service request under the ledger's rule set and records the decision (and any
   * certificates it places) atomically on the device stream. A RequestID already decided returns
   * the recorded decision.
   */
  async submit(request: ServiceRequest, ctx: CommandContext): Promise<SubmitResult> {
    const command: SubmitServiceRequest = { kind: 'SubmitServiceRequest', request, ruleSet: this.ruleSet };
    return submitResult(await this.commands.handle(submitServiceRequest, command, ctx));
  }

  async registerUserRole(input: RegisterUserRoleInput, ctx: CommandContext): Promise<CommandResult> {
    return this.execute(parseRegisterUserRole(input), ctx);
  }

  async changeInventory(input: ChangeInventoryInput, ctx: CommandContext): Promise<CommandResult> {
    return this.execute(parseChangeInventory(input), ctx);
  }

  /** One Registration Data change; idempotent by (MPxN, record id). */
  async recordRegistration(input: RecordRegistrationInput, ctx: CommandContext): Promise<CommandResult> {
    return this.execute(parseRecordRegistration(input), ctx);
  }

  /** Certificates placed by proxy outside a request: at migration, or by an operator's correction. */
  async placeCertificate(input: PlaceCertificateInput, ctx: CommandContext): Promise<CommandResult> {
    return this.execute(parsePlaceCertificate(input), ctx);
  }

  /** Records an audit job that ended (idempotent by job id), in a stream of its own. */
  async recordAuditJob(job: Omit<AuditJobRecordedV1, 'schemaVersion'>, ctx: CommandContext): Promise<CommandResult> {
    return this.execute({ kind: 'RecordAuditJob', job }, ctx);
  }

  /** Records an audit job's start (idempotent by job id), the first event of its stream: its end follows it. */
  async recordAuditJobStart(start: Omit<AuditJobStartedV1, 'schemaVersion'>, ctx: CommandContext): Promise<CommandResult> {
    return this.execute({ kind: 'RecordAuditJobStart', start }, ctx);
  }

  /** Records a queued audit job's acceptance (idempotent by job id), the first event of its stream: its start and end follow it. */
  async recordAuditJobQueued(queued: Omit<AuditJobQueuedV1, 'schemaVersion'>, ctx: CommandContext): Promise<CommandResult> {
    return this.execute({ kind: 'RecordAuditJobQueued', queued }, ctx);
  }

  private handle(command: RecordCommand, ctx: CommandContext): Promise<Handled> {
    const run = <C, S>(wiring: CommandWiring<C, S>, c: C) => this.commands.handle(wiring, c, ctx);
    switch (command.kind) {
      case 'RegisterUserRole':
        return run(registerUserRole, command);
      case 'RecordRegistration':
        return run(recordRegistration, command);
      case 'ChangeInventory':
        return run(changeInventory, command);
      case 'PlaceCertificate':
        return run(placeCertificate, command);
      case 'RecordAuditJob':
        return run(recordAuditJob, command);
      case 'RecordAuditJobStart':
        return run(recordAuditJobStart, command);
      case 'RecordAuditJobQueued':
        return run(recordAuditJobQueued, command);
    }
  }
}

/** A recorded fact's position and revision: the one just appended, or the one found (a retry). */
function commandResult(handled: Handled): CommandResult {
  if (handled.written) return { stream: handled.stream, written: true, position: handled.position.toString(), revision: handled.revision.toString() };
  const existing = handled.recorded[0];
  return { stream: handled.stream, written: false, position: existing.position.toString(), revision: existing.revision.toString() };
}
