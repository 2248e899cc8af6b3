// Moved to the event-store library, whose EventStoreDB adapter runs its appends one at a time per stream too.
export { KeyedQueue } from '@ledger/event-store';
