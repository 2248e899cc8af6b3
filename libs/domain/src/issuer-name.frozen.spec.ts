import { createHash } from 'node:crypto';
import { prepare } from './issuer-name';

/**
 * Recorded decisions replay identically on any supported runtime, and from rule sets @5 a decision
 * can turn on issuer names being the same. Values are prepared (case mapping, NFKC, spaces) only
 * when wholly in U+0000-U+024F and U+0300-U+036F, every code point of which is assigned in every
 * Unicode version Node 20 has shipped (checked on Node 20.20.2, Unicode 17.0: no \p{Cn} there).
 * This pins what `prepare` gives for each of them, alone and followed by U+0301: a runtime whose
 * ICU maps any of them otherwise fails here. Never update the digest to make it pass.
 */
const PINNED = 'f3bc434a52c379b0c31818e7d4b18d40b527337e9c367cc8df153e2665c61f39';

it('prepare gives the same for every code point of the prepared repertoire (alone and before U+0301)', () => {
  const codePoints = [...Array(0x250).keys(), ...Array.from({ length: 0x70 }, (_, i) => 0x300 + i)];
  expect(codePoints.filter((c) => /\p{Cn}/u.test(String.fromCodePoint(c)))).toEqual([]);
  const prepared = codePoints.flatMap((c) => [prepare(String.fromCodePoint(c)), prepare(`${String.fromCodePoint(c)}\u0301`)]);
  expect(createHash('sha256').update(JSON.stringify(prepared)).digest('hex')).toBe(PINNED);
});
