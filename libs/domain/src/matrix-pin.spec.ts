import { createHash } from 'node:crypto';
import { MATRIX_CATALOGUE } from './srv-table';

/**
 * Rule sets @2 judge by MATRIX_CATALOGUE, built from the DUIS request matrix that
 * @smartdcc/duis-parser ships. Decisions recorded under @2 must replay identically, so the
 * catalogue is pinned here: a new version of the package that changes any SRV's definition fails
 * this test, and then needs rule sets @3 (keeping @2's catalogue as it is), not a new hash.
 */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

describe('the catalogue of rule sets @2', () => {
  it('is the one decisions were recorded under: 129 SRVs, every definition as pinned', () => {
    expect(Object.keys(MATRIX_CATALOGUE)).toHaveLength(129);
    expect(createHash('sha256').update(canonical(MATRIX_CATALOGUE)).digest('hex')).toBe(PINNED);
  });
});

const PINNED = 'b606c2c973e5b745a5f01972426b1836c1befe533b4135ef81e91215da1cc456';
