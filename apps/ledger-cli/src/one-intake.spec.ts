import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { startTestApp } from '../../ledger-api/test/test-app';
import { makeDuisRequest } from '../../../libs/ledger/src/intake/testing/make-duis';
import { exitCodeOf, runCli } from './cli';

/**
 * One intake, two doors: the same bad input sent over HTTP and given to the CLI is refused for the
 * same field with the same reason (the CLI's refusal also says which file), and a Registration Data
 * file gets the same report through both. Neither door writes anything for a refused input.
 */
const SUPPLIER = '90-B3-D5-1F-30-01-00-01';
const ESME = '00-DB-12-34-56-78-90-01';
const HEADER = 'mpxn,responsibility,party_user_id,effective_from,record_id';
const read41 = (target = ESME) => makeDuisRequest({ originator: SUPPLIER, target, counter: 7, srv: '4.1.1', body: { ReadInstantaneousImportRegisters: '' } });

interface Refusal {
  field: string;
  reason: string;
}

describe('the same bad input through the HTTP API and the CLI', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await startTestApp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-doors-'));
    env = { LEDGER_SQLITE_PATH: path.join(dir, 'ledger.sqlite') };
    // Something already stored through the CLI, which no refusal may change.
    fs.writeFileSync(path.join(dir, 'seed.csv'), `${HEADER}\n1412345678901,supplier,${SUPPLIER},2019-01-01,SEED-1\n`);
    expect(await runCli(['import-registrations', path.join(dir, 'seed.csv'), '--json'], env, { json: true, tty: false, out: () => undefined, err: () => undefined })).toBe(0);
    expect(cliStore()).toHaveLength(1);
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What the API answers: 400 with the field and reason, and the store unchanged. */
  const overHttp = async (url: string, type: string, body: string | Buffer, fileName?: string): Promise<Refusal> => {
    const before = await t.store.headPosition();
    // The bytes as they are (superagent would serialise a Buffer sent as JSON).
    const req = t.http().post(url).set('x-api-key', 'dev-intake-key').set('content-type', type).serialize((b: unknown) => b as string);
    const res = await (fileName ? req.set('x-file-name', fileName) : req).send(body);
    expect(res.status).toBe(400);
    expect(await t.store.headPosition()).toBe(before);
    return { field: res.body.field, reason: res.body.reason };
  };

  /** Every row of the CLI's store, as stored. */
  const cliStore = () => {
    const db = new Database(env.LEDGER_SQLITE_PATH, { readonly: true });
    try {
      return db.prepare('SELECT * FROM events ORDER BY position').all();
    } finally {
      db.close();
    }
  };

  /** What the CLI refuses with (the bin prints its message and exits 2), naming the file it was given, and its store unchanged. */
  const throughCli = async (command: string, file: string, bytes: string | Buffer): Promise<Refusal> => {
    const at = path.join(dir, file);
    fs.writeFileSync(at, bytes);
    const before = cliStore();
    const refused = await runCli([command, at, '--json'], env, { json: true, tty: false, out: () => undefined, err: () => undefined }).then(
      () => undefined,
      (err: { field?: string; reason?: string; where?: string; message: string }) => err,
    );
    expect(refused).toBeDefined();
    expect(refused?.where).toBe(at);
    expect(exitCodeOf(refused)).toBe(2); // refused whole: nothing done
    expect(cliStore()).toEqual(before);
    return { field: refused!.field!, reason: refused!.reason! };
  };

  it.each`
    case                                      | type                  | file            | body
    ${'an unknown JSON field'}                | ${'application/json'} | ${'extra.json'} | ${JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.1.1', extra: 1 })}
    ${'an unknown field in a certificate'}    | ${'application/json'} | ${'cert.json'}  | ${JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '6.15.1', remotePartyRole: 'Supplier', certificates: [{ serial: '01', owner: SUPPLIER }] })}
    ${'a prototype key'}                      | ${'application/json'} | ${'proto.json'} | ${`{"requestId":"${SUPPLIER}:${ESME}:1","srv":"4.1.1","__proto__":{"x":1}}`}
    ${'a bad identifier in a JSON RequestID'} | ${'application/json'} | ${'id.json'}    | ${JSON.stringify({ requestId: `${SUPPLIER}:00-DB-12:1`, srv: '4.1.1' })}
    ${'a bad counter in a JSON RequestID'}    | ${'application/json'} | ${'ctr.json'}   | ${JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:-1`, srv: '4.1.1' })}
    ${'a bad identifier in a DUIS RequestID'} | ${'application/xml'}  | ${'id.xml'}     | ${read41().replace(ESME, '00-DB-12-34')}
    ${'a DUIS request with a DTD'}            | ${'application/xml'}  | ${'dtd.xml'}    | ${`<!DOCTYPE x [<!ENTITY e "e">]>${read41()}`}
    ${'a DUIS request declared ISO-8859-1, not ASCII'} | ${'application/xml'} | ${'latin.xml'} | ${Buffer.from(read41().replace('UTF-8', 'ISO-8859-1').replace('?>', '?><!-- \u00e9 -->'), 'latin1')}
    ${'DUIS in UTF-16 with no byte order mark'} | ${'application/xml'} | ${'utf16.xml'} | ${Buffer.from(read41().replace('UTF-8', 'UTF-16'), 'utf16le')}
    ${'an SRV no rule set judges'}            | ${'application/json'} | ${'srv.json'}   | ${JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '99.9' })}
    ${'JSON that is not UTF-8'}               | ${'application/json'} | ${'utf8.json'}  | ${Buffer.from([0x7b, 0xff, 0x7d])}
    ${'JSON in UTF-16 with its mark'}         | ${'application/json'} | ${'utf16.json'} | ${Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.1.1' }), 'utf16le')])}
    ${'30 February in JSON'}                  | ${'application/json'} | ${'feb.json'}   | ${JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '7.4', executionDateTime: '2030-02-30T00:00:00Z' })}
    ${'24:00 in a JSON date range'}           | ${'application/json'} | ${'range.json'} | ${JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '4.8.1', dateRange: { from: '2024-05-01T00:00:00Z', to: '2024-05-01T24:00:00Z' } })}
    ${'29 February 2023 in DUIS'}             | ${'application/xml'}  | ${'feb.xml'}    | ${makeDuisRequest({ originator: SUPPLIER, target: ESME, counter: 7, srv: '7.4', body: { ReadSupplyStatus: { ExecutionDateTime: '2023-02-29T00:00:00Z' } } })}
  `('a service request with $case', async ({ type, file, body }) => {
    const http = await overHttp('/service-requests', type, body);
    expect(await throughCli('submit', file, body)).toEqual(http);
  });

  it('an impossible date is refused naming its field and what is wrong, not rolled over to a real one', async () => {
    const feb30 = JSON.stringify({ requestId: `${SUPPLIER}:${ESME}:1`, srv: '7.4', executionDateTime: '2030-02-30T00:00:00Z' });
    expect(await overHttp('/service-requests', 'application/json', feb30)).toEqual({ field: 'executionDateTime', reason: "'2030-02-30T00:00:00Z' is not a valid date-time: day 30 is not a day of February 2030 (01-28)" });
    const duis = makeDuisRequest({ originator: SUPPLIER, target: ESME, counter: 7, srv: '7.4', body: { ReadSupplyStatus: { ExecutionDateTime: '2023-02-29T00:00:00Z' } } });
    expect(await throughCli('submit', 'feb.xml', duis)).toEqual({ field: 'executionDateTime', reason: expect.stringMatching(/day 29 is not a day of February 2023/) });
  });

  it.each`
    case                                | body
    ${'a wrong header'}                 | ${'mpan,who\n1412345678901,x\n'}
    ${'no header at all'}               | ${'\n\n'}
    ${'bytes that are not UTF-8'}       | ${Buffer.concat([Buffer.from(`${HEADER}\n1412345678901,supplier,`), Buffer.from([0xc3, 0x28]), Buffer.from(',2024-01-01,R1\n')])}
  `('a Registration Data file with $case is refused whole', async ({ body }) => {
    const http = await overHttp('/registrations/import', 'text/csv', body, 'regs.csv');
    expect(await throughCli('import-registrations', 'regs.csv', body)).toEqual(http);
  });

  it("an operator's file name (spaces, brackets, other scripts, a leading dot) is recorded as named through both doors (until 2026-11-27 refused: not an identifier)", async () => {
    const name = '.rdp export (1) Änderungen 東京.csv';
    const csv = `${HEADER}\n1412345678901,supplier,${SUPPLIER},2024-06-01,NAMED-1\n`;
    const http = await t.http().post('/registrations/import').set('x-api-key', 'dev-intake-key').set('content-type', 'text/csv').set('x-file-name', encodeURIComponent(name)).send(csv).expect(200);
    expect(http.body).toMatchObject({ file: name, written: 1 });
    const overHttp: Array<{ data: { source: unknown } }> = [];
    for await (const e of t.store.readStream('meterpoint-1412345678901')) overHttp.push(e as { data: { source: unknown } });
    expect(overHttp.at(-1)!.data.source).toEqual({ recordId: 'NAMED-1', file: name, line: 2 });

    fs.writeFileSync(path.join(dir, name), csv);
    const out: string[] = [];
    expect(await runCli(['import-registrations', path.join(dir, name), '--json'], env, { json: true, tty: false, out: (s) => void out.push(s), err: () => undefined })).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ file: path.join(dir, name), written: 1 });
    const rows = cliStore() as Array<{ stream: string; data: string }>;
    expect(JSON.parse(rows.at(-1)!.data).source).toEqual({ recordId: 'NAMED-1', file: name, line: 2 });
  });

  it('a file name that would do harm (a control character, a right-to-left override, a formula) is refused by both doors for the same reason, nothing written', async () => {
    const csv = `${HEADER}\n1412345678901,supplier,${SUPPLIER},2024-06-02,HARM-1\n`;
    for (const name of ['rdp\u001b[2J.csv', 'rdp\u202Evsc.exe', '=1+1.csv']) {
      const http = await overHttp('/registrations/import', 'text/csv', csv, encodeURIComponent(name));
      const cli = await throughCli('import-registrations', name, csv);
      expect({ name, http: http.field, cli: cli.field }).toEqual({ name, http: 'x-file-name', cli: 'file' });
      expect(cli.reason).toBe(http.reason);
      expect(http.reason).toMatch(/is not a file name: /);
    }
  });

  it('a Registration Data file with bad lines (a bad identifier, a formula, a bad MPAN, impossible dates) gets the same report through both doors', async () => {
    const csv = [
      HEADER,
      `1412345678901,supplier,${SUPPLIER},2024-01-01,OK-1`,
      `1412345678901,supplier,90-B3-D5,2024-01-02,BAD-ID`,
      `1412345678901,supplier,${SUPPLIER},2024-01-03,=SUM(A1)`,
      `1412345678902,supplier,${SUPPLIER},2024-01-04,BAD-MPAN`,
      `1412345678901,supplier,${SUPPLIER},2023-02-29,FEB-29`,
      `1412345678901,supplier,${SUPPLIER},2024-05-01T24:00:00Z,MIDNIGHT`,
      '',
    ].join('\n');
    const http = await t.http().post('/registrations/import').set('x-api-key', 'dev-intake-key').set('content-type', 'text/csv').set('x-file-name', 'lines.csv').send(csv).expect(200);
    const at = path.join(dir, 'lines.csv');
    fs.writeFileSync(at, csv);
    const out: string[] = [];
    expect(await runCli(['import-registrations', at, '--json'], env, { json: true, tty: false, out: (s) => void out.push(s), err: () => undefined })).toBe(1); // lines rejected
    const cli = JSON.parse(out.join('\n'));
    expect(http.body).toMatchObject({
      written: 1,
      rejected: 5,
      errors: [
        { line: 3, field: 'party_user_id' },
        { line: 4, field: 'record_id' },
        { line: 5, field: 'mpxn' },
        { line: 6, field: 'effective_from', reason: "'2023-02-29' is not a valid date-time: day 29 is not a day of February 2023 (01-28)" },
        { line: 7, field: 'effective_from', reason: "'2024-05-01T24:00:00Z' is not a valid date-time: hour 24 is not an hour of the day (00-23)" },
      ],
    });
    const { projected, ...report } = http.body; // the API's reply says too whether its read models hold the lines (the CLI's own run waits for nothing)
    expect(projected).toBe(true);
    expect({ ...cli, file: 'lines.csv' }).toEqual(report);
  });
});
