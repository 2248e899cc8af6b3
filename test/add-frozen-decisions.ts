/**
 * ADDS to libs/domain/src/testing/frozen-decisions.json, the fixture of stored decisions that
 * decision-record.frozen.spec.ts holds the code to; it NEVER rewrites or removes an entry already
 * there. Run it only after adding a template set, a rule set or a case (decision-cases.ts):
 *
 *   npx tsx test/add-frozen-decisions.ts
 *
 * It adds, for what has no entry yet: a decision per case (decision-cases.ts, and the stored forms
 * below) under each version of the case's rule set, keyed by case, rule set and template set,
 * stored by today's encoder and decoded by today's decoder; the edition of each rule set; the SRV
 * definitions each edition's catalogue gives the templates; the responsibilities and slot parties
 * the templates read. When the spec fails on an entry already there, the code changed how stored
 * decisions read: put the code back (or make a new template set), never the fixture.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { srvDefinitionFor } from '../libs/domain/src/evaluate';
import { SRV_CATALOGUE, responsibilityOf, slotPartyOfRemoteParty } from '../libs/domain/src/catalogue';
import { attempt } from '../libs/domain/src/decision-context';
import { encodeDecision } from '../libs/domain/src/decision-record';
import { storedData, upcast, type ServiceRequestEvaluatedV1 } from '../libs/domain/src/events';
import { REMOTE_PARTY_ROLES, USER_ROLES } from '../libs/domain/src/identifiers';
import { RULE_SETS } from '../libs/domain/src/rule-sets';
import { MATRIX_CATALOGUE } from '../libs/domain/src/srv-table';
import { decided, esme, esme2, rows, supplierA, world } from '../libs/domain/src/testing/decision-cases';
import { request, when } from '../libs/domain/src/testing/scenario';
import { FIXTURE, entryKey, readByTemplates, type Fixture } from '../libs/domain/src/testing/frozen-decisions';

const file = path.join(__dirname, '../libs/domain/src/testing', FIXTURE);
const fixture: Fixture = fs.existsSync(file)
  ? JSON.parse(fs.readFileSync(file, 'utf8'))
  : {
      about:
        'Stored decisions (ServiceRequestEvaluated data as the store holds it, read from `stream`) and what each decodes to, with what the templates read at decode time. ' +
        'Written by test/add-frozen-decisions.ts, which only adds; held by decision-record.frozen.spec.ts. Never edit or regenerate an entry.',
      ruleSets: {},
      roles: {},
      slotParties: {},
      catalogues: {},
      decisions: [],
    };

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const addIfAbsent = (o: Record<string, unknown>, key: string, value: unknown) => {
  if (!Object.hasOwn(o, key)) o[key] = json(value ?? null);
};

// What the templates read at decode time besides the record: rule set editions, catalogues, roles.
for (const rs of RULE_SETS) addIfAbsent(fixture.ruleSets, `${rs.id}@${rs.version}`, rs.edition);
for (const role of USER_ROLES) addIfAbsent(fixture.roles, role, responsibilityOf(role));
for (const edition of new Set(RULE_SETS.map((r) => r.edition))) {
  const rs = RULE_SETS.find((r) => r.edition === edition)!;
  fixture.slotParties[edition] ??= {};
  for (const rpr of REMOTE_PARTY_ROLES) addIfAbsent(fixture.slotParties[edition], rpr, slotPartyOfRemoteParty(rpr, edition));
  fixture.catalogues[edition] ??= {};
  for (const srv of new Set([...Object.keys(SRV_CATALOGUE), ...Object.keys(MATRIX_CATALOGUE)])) {
    const d = attempt(() => srvDefinitionFor(srv, rs));
    if (d) addIfAbsent(fixture.catalogues[edition], srv, readByTemplates(d));
  }
}

// The decisions: every case under each version of its rule set, and the stored forms of decisions no template fits exactly.
const candidates: Array<{ case: string; decision: () => ServiceRequestEvaluatedV1 }> = [];
for (const row of rows) {
  const [id, version] = (row.ruleSet ?? 'baseline').split('@');
  for (const rs of RULE_SETS.filter((r) => r.id === id && (version === undefined || r.version === Number(version)))) {
    candidates.push({ case: row.case, decision: () => decided(row, `${rs.id}@${rs.version}`) });
  }
}
const accepted = () => decided(rows[0]);
const forms: Array<[string, (d: ServiceRequestEvaluatedV1) => void]> = [
  ['a reason no template renders (reasonAsRecorded)', (d) => void (d.checks[1].reason = 'role IS may send SRV 4.1.1')],
  ['evidence with a piece more, and a piece that differs from what derives (evidence kept)', (d) => ((d.checks[0].evidence.note = 'kept'), (d.checks[2].evidence.deviceId = esme2))],
  [
    'evidence in another key order, a check out of place, a response code that does not derive',
    (d) => {
      const { mpxn, ...rest } = d.checks[2].evidence;
      d.checks[2].evidence = { mpxn, ...rest };
      d.checks[3] = { ...d.checks[3], check: 'certificate-ownership' };
      d.responseCode = 'I99';
    },
  ],
  ['revisions read that are not short numbers (kept as an object)', (d) => void (d.revisionsRead = Object.fromEntries(Object.keys(d.revisionsRead).map((k) => [k, '1234567890123456'])))],
  ['a DUIS request with a command variant', (d) => ((d.request.format = 'duis'), (d.request.commandVariant = 2))],
];
for (const [name, change] of forms) {
  candidates.push({
    case: name,
    decision: () => {
      const d = accepted();
      change(d);
      return d;
    },
  });
}
candidates.push({ case: 'evaluated after it was received', decision: () => when(world(), request(rows[0].spec), 'baseline', '2024-03-01T12:00:01.250Z').decision.data });
candidates.push({
  case: 'several RemotePartyRoles (reads as version 2)',
  decision: () => when(world(), { ...request({ from: supplierA, to: esme, srv: '6.24.1', rpr: 'Supplier' }), remotePartyRoles: ['Supplier', 'LoadController'] }).decision.data,
});

const have = new Set(fixture.decisions.map(entryKey));
let added = 0;
for (const c of candidates) {
  let d: ServiceRequestEvaluatedV1;
  try {
    d = c.decision();
  } catch {
    console.log(`${c.case}: not judged (an SRV the rule set's catalogue lacks)`);
    continue;
  }
  if (!encodeDecision(d)) {
    console.log(`${c.case}: kept as it is (version 1 or 2), not a stored form`);
    continue;
  }
  const stream = `device-${d.request.target}`;
  const stored = json(storedData({ type: 'ServiceRequestEvaluated', data: d })) as Record<string, unknown>;
  const decoded = json(upcast('ServiceRequestEvaluated', stored, stream).data) as ServiceRequestEvaluatedV1;
  if (JSON.stringify(decoded) !== JSON.stringify(d)) throw new Error(`${c.case}: the stored form does not give the decision back`);
  const entry = { case: c.case, stream, stored, decoded };
  if (have.has(entryKey(entry))) continue;
  have.add(entryKey(entry));
  fixture.decisions.push(entry);
  added++;
}

const line = (v: unknown) => JSON.stringify(v);
const object = (o: Record<string, unknown>, indent: string, inner: (v: unknown, indent: string) => string) =>
  `{\n${Object.entries(o)
    .map(([k, v]) => `${indent}  ${line(k)}: ${inner(v, `${indent}  `)}`)
    .join(',\n')}\n${indent}}`;
const text = `{
  "about": ${line(fixture.about)},
  "ruleSets": ${line(fixture.ruleSets)},
  "roles": ${line(fixture.roles)},
  "slotParties": ${line(fixture.slotParties)},
  "catalogues": ${object(fixture.catalogues, '  ', (c, indent) => object(c as Record<string, unknown>, indent, line))},
  "decisions": [
${fixture.decisions.map((d) => `    ${line(d)}`).join(',\n')}
  ]
}
`;
if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(fixture)) throw new Error('the fixture does not read back as written');
fs.writeFileSync(file, text);
console.log(`${FIXTURE}: ${added} decisions added, ${fixture.decisions.length} in all`);
