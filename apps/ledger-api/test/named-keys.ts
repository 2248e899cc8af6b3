/**
 * The keys the key-identity specs configure (LEDGER_API_KEYS), and the actor each is recorded as: its
 * id 12 hex digits of the key's scrypt (the README's `openssl kdf` one-liner gives those below).
 */
export const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
export const ESME = '00-DB-12-34-56-78-90-01';
export const MPAN = '1412345678901';

export const KEY = { feedA: 'intake-feed-key-A', feedB: 'intake-feed-key-B', deskX: 'auditor-desk-key-X', deskY: 'auditor-desk-key-Y', ops: 'admin-ops-key-1' };
export const ACTOR = {
  feedA: 'api:intake:893a09117d39:rdp-feed',
  feedB: 'api:intake:24cc0ce83147',
  deskX: 'api:auditor:7bf997c8250b:audit-desk',
  deskY: 'api:auditor:294bc0d87da1',
  ops: 'api:admin:a5dbd6102ee1',
};
export const LEDGER_API_KEYS = `${KEY.feedA}:intake@rdp-feed,${KEY.feedB}:intake,${KEY.deskX}:auditor@audit-desk,${KEY.deskY}:auditor,${KEY.ops}:admin`;
