import { createHash } from 'node:crypto';
import { PREPARED, prepare } from './issuer-name';

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
  const codePoints = Array.from({ length: 0x110000 }, (_, c) => c).filter((c) => PREPARED.test(String.fromCodePoint(c)));
  expect(codePoints.length).toBe(0x250 + 0x70);
  expect(codePoints.filter((c) => /\p{Cn}/u.test(String.fromCodePoint(c)))).toEqual([]);
  const prepared = codePoints.flatMap((c) => [prepare(String.fromCodePoint(c)), prepare(`${String.fromCodePoint(c)}\u0301`)]);
  expect(createHash('sha256').update(JSON.stringify(prepared)).digest('hex')).toBe(PINNED);
});

it.each`
  codePoint   | prepared | why
  ${0x0000}   | ${true}  | ${'the first of Latin'}
  ${0x024f}   | ${true}  | ${'the last of Latin Extended-B'}
  ${0x0250}   | ${false} | ${'IPA Extensions: compared exactly'}
  ${0x02ff}   | ${false} | ${'Spacing Modifier Letters: compared exactly'}
  ${0x0300}   | ${true}  | ${'the first combining mark'}
  ${0x036f}   | ${true}  | ${'the last combining mark'}
  ${0x0370}   | ${false} | ${'Greek: compared exactly'}
  ${0xff21}   | ${false} | ${'a full-width capital A: compared exactly'}
`('U+$codePoint is in the prepared repertoire: $prepared ($why)', ({ codePoint, prepared }) => {
  expect(PREPARED.test(`a${String.fromCodePoint(codePoint)}b`)).toBe(prepared);
});
