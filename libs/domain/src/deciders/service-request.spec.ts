import { evaluate } from '../evaluate';
import { deviceStream, meterPointStream, storedData, upcast, userStream, type LedgerEvent } from '../events';
import { recordRequest, type ServiceRequest } from '../request';
import { getRuleSet } from '../rule-sets';
import { fold, evolveDevice, evolveJudgedDevice, evolveMeterPoint, evolveUser } from '../state';
import { cert, ids, inventory, mpan, placed, registration, request, userRole } from '../testing/scenario';
import { foldStream } from './decider';
import { deviceDecider } from './device';
import { meterPointDecider } from './meter-point';
import { checkResubmission, decideServiceRequest, judgingInstant, meterPointServed, RequestIdReusedError, type ServiceRequestState, type SubmitServiceRequest } from './service-request';
import { userDecider } from './user';

const { noA, noB, esme, supplierA, unknownDevice } = ids;
const T0 = '2019-01-01T00:00:00.000Z';

/** The three streams a decision reads, each folded from its decider's initial state, as the ledger's handler folds them. */
function stateOf(given: LedgerEvent[], command: SubmitServiceRequest): ServiceRequestState {
  const { originator, target } = command.request.requestId;
  const on = (pick: (e: LedgerEvent) => string | undefined, id: string) => given.filter((e) => pick(e) === id);
  const device = foldStream(deviceDecider, target, on((e) => (e.type === 'DeviceInventoryChanged' || e.type === 'CertificatePlaced' ? e.data.deviceId : undefined), target));
  const sender = foldStream(userDecider, originator, on((e) => (e.type === 'UserRoleRegistered' ? e.data.userId : undefined), originator));
  const mpxn = meterPointServed(device, command);
  const meterPoint = mpxn ? foldStream(meterPointDecider, mpxn, on((e) => (e.type === 'RegistrationChanged' ? e.data.mpxn : undefined), mpxn)) : undefined;
  const revisionsRead: Record<string, string | null> = { [userStream(originator)]: null, [deviceStream(target)]: null };
  if (mpxn) revisionsRead[meterPointStream(mpxn)] = null;
  return { device, sender, meterPoint, revisionsRead };
}
const submit = (req: ServiceRequest, ruleSet = 'baseline'): SubmitServiceRequest => ({ kind: 'SubmitServiceRequest', request: { ...req, receivedAt: '2024-03-01T12:00:00.000Z' }, ruleSet: getRuleSet(ruleSet) });
const replaceNo = (from: string, owner = noA) => request({ from, to: esme, srv: '6.15.1', rpr: 'NetworkOperator', certificates: [cert(owner, 'digitalSignature', '03', 'A9')] });

/** The stuck device (domain.md section 6): Registration Data says NO-A, the NO certificate is NO-B's. */
const stuck = [
  userRole(noA, 'ED'),
  userRole(noB, 'ED'),
  registration(mpan, 'networkOperator', noA, T0),
  inventory(esme, 'ESME', 1, 'Commissioned', mpan),
  placed(esme, 'networkOperator.critical', cert(noB)),
];

describe('the service request decider: a request judged on the device, its sender and its meter point', () => {
  it.each`
    rule                                                                                     | given     | when                                         | code              | placements
    ${'the registered NO does not own the NO certificate: refused at step 5'}                | ${stuck}  | ${submit(replaceNo(noA))}                    | ${'E_CERT_OWNER'} | ${0}
    ${'the certificate owner is not the registered NO: refused at step 4'}                   | ${stuck}  | ${submit(replaceNo(noB))}                    | ${'E4'}           | ${0}
    ${'under registered-operator the registered NO replaces it with its own: accepted'}      | ${stuck}  | ${submit(replaceNo(noA), 'registered-operator')} | ${'I0'}       | ${1}
    ${'under ownership-only the owner replaces it: accepted'}                                | ${stuck}  | ${submit(replaceNo(noB), 'ownership-only')}  | ${'I0'}           | ${1}
    ${'a sender the ledger holds no role for: E1'}                                           | ${stuck}  | ${submit(request({ from: supplierA, to: esme, srv: '4.1.1' }))} | ${'E1'} | ${0}
    ${'a device not in the inventory: E19'}                                                  | ${stuck}  | ${submit(request({ from: noA, to: unknownDevice, srv: '4.1.1' }))} | ${'E19'} | ${0}
    ${'a device serving no meter point: E4 for a non-critical request'}                      | ${[userRole(noA, 'ED'), inventory(esme, 'ESME', 1, 'Commissioned', null)]} | ${submit(request({ from: noA, to: esme, srv: '4.1.1' }))} | ${'E4'} | ${0}
  `('$rule', ({ given, when, code, placements }) => {
    const [decision, ...placed] = decideServiceRequest(when, stateOf(given, when));
    expect(decision).toMatchObject({ type: 'ServiceRequestEvaluated', data: { responseCode: code, request: recordRequest(when.request), ruleSet: { id: when.ruleSet.id }, evaluatedAt: when.request.receivedAt } });
    expect(placed).toHaveLength(placements);
    for (const p of placed) expect(p).toMatchObject({ type: 'CertificatePlaced', data: { deviceId: esme, slot: 'networkOperator.critical', via: { kind: 'request', srv: '6.15.1' } } });
  });

  it.each`
    case                          | given
    ${'the stuck device'}         | ${stuck}
    ${'an unknown sender'}        | ${stuck.slice(2)}
    ${'no Registration Data'}     | ${[...stuck.slice(0, 2), ...stuck.slice(3)]}
    ${'an unknown device'}        | ${stuck.slice(0, 3)}
  `('judged on initial states, $case decides as judged on the undefined states of streams with no events (as a replay folds them)', ({ given }) => {
    for (const [req, ruleSet] of [[replaceNo(noA), 'registered-operator'], [replaceNo(noB), 'baseline'], [request({ from: noA, to: esme, srv: '4.1.1' }), 'baseline']] as const) {
      const command = submit(req, ruleSet);
      const state = stateOf(given, command);
      const streamOf = (pick: (e: LedgerEvent) => boolean) => given.filter(pick);
      const legacy = {
        sender: fold(evolveUser, streamOf((e) => e.type === 'UserRoleRegistered' && e.data.userId === req.requestId.originator)),
        device: fold(evolveDevice, streamOf((e) => (e.type === 'DeviceInventoryChanged' || e.type === 'CertificatePlaced') && e.data.deviceId === esme)),
        meterPoint: fold(evolveMeterPoint, streamOf((e) => e.type === 'RegistrationChanged')),
        revisionsRead: state.revisionsRead,
      };
      const before = evaluate(command.request, legacy, command.ruleSet, command.request.receivedAt);
      expect(JSON.stringify(decideServiceRequest(command, state))).toBe(JSON.stringify([before.decision, ...before.placed]));
    }
  });

  it('a RequestID sent again with the same request is answered by its recorded decision; with other content it is refused', () => {
    const command = submit(replaceNo(noA));
    const [recorded] = decideServiceRequest(command, stateOf(stuck, command));
    expect(() => checkResubmission({ ...command, request: { ...command.request, receivedAt: '2024-03-02T00:00:00.000Z', format: 'duis' } }, recorded.data)).not.toThrow();
    const other = submit({ ...replaceNo(noA), executionDateTime: '2024-04-01T00:00:00.000Z' });
    expect(() => checkResubmission(other, recorded.data)).toThrow(RequestIdReusedError);
    expect(() => checkResubmission(other, recorded.data)).toThrow(/requestId: .* was already decided for a different request \(it differs in executionDateTime\)/);
  });
});

describe('the instant a request is judged at: never before a decision already recorded on its device', () => {
  const at = (hh: string) => `2024-03-01T${hh}:00.000Z`;
  /** The registered NO replacing its own NO certificate (registered-operator), received at `received`, maybe future dated. */
  const command = (received: string, executionDateTime?: string): SubmitServiceRequest => ({
    kind: 'SubmitServiceRequest',
    request: { ...replaceNo(noA), receivedAt: received, ...(executionDateTime ? { executionDateTime } : {}) },
    ruleSet: getRuleSet('registered-operator'),
  });
  /** The state the request is judged on, its device's stream holding decisions already judged at `judgedBefore`, in the order recorded. */
  const stateAfter = (c: SubmitServiceRequest, judgedBefore: string[]): ServiceRequestState => {
    const state = stateOf(stuck, c);
    const device = judgedBefore.reduce((d, t) => deviceDecider.evolve(d, decideServiceRequest(command(t), state)[0]), state.device);
    return { ...state, device };
  };

  it.each`
    rule                                                                                          | received     | executionDateTime | judgedBefore                  | evaluatedAt  | code     | placedAt
    ${'a device with no decision yet: judged when received'}                                      | ${at('12:00')} | ${undefined}    | ${[]}                         | ${at('12:00')} | ${'I0'}  | ${at('12:00')}
    ${'the decisions recorded were judged earlier: judged when received'}                         | ${at('12:00')} | ${undefined}    | ${[at('11:00')]}              | ${at('12:00')} | ${'I0'}  | ${at('12:00')}
    ${'a decision recorded was judged later (stamped later, judged first): judged at the latest'} | ${at('12:00')} | ${undefined}    | ${[at('13:00'), at('12:30')]} | ${at('13:00')} | ${'I0'}  | ${at('13:00')}
    ${'a decision recorded at the same instant: judged then'}                                     | ${at('12:00')} | ${undefined}    | ${[at('12:00')]}              | ${at('12:00')} | ${'I0'}  | ${at('12:00')}
    ${'future dated to after the latest: pending until then (I99), as before'}                    | ${at('12:00')} | ${at('14:00')}  | ${[at('13:00')]}              | ${at('13:00')} | ${'I99'} | ${at('14:00')}
    ${'future dated to before the latest: executes when judged (I0)'}                             | ${at('12:00')} | ${at('12:45')}  | ${[at('13:00')]}              | ${at('13:00')} | ${'I0'}  | ${at('13:00')}
  `('$rule', ({ received, executionDateTime, judgedBefore, evaluatedAt, code, placedAt }) => {
    const c = command(received, executionDateTime);
    const state = stateAfter(c, judgedBefore);
    expect(judgingInstant(received, state.device)).toBe(evaluatedAt);
    const [decision, ...placed] = decideServiceRequest(c, state);
    expect(decision.data).toMatchObject({ responseCode: code, evaluatedAt, request: { receivedAt: received } });
    expect(placed.map((p) => p.data.placedAt)).toEqual([placedAt]);
    // Stored compactly (schema version 3, `evaluatedAt` kept where it is not `receivedAt`) and read back as decided.
    const stored = storedData(decision) as { schemaVersion: number; evaluatedAt?: string };
    expect({ schemaVersion: stored.schemaVersion, keepsEvaluatedAt: stored.evaluatedAt !== undefined }).toEqual({ schemaVersion: 3, keepsEvaluatedAt: evaluatedAt !== received });
    expect(upcast(decision.type, stored, deviceStream(esme)).data).toEqual(decision.data);
  });

  it("the device decider's fold keeps the latest instant judged at, whatever the order the decisions are folded in, from a device with no record yet too; every other fold (evolveDevice) passes over a decision", () => {
    const state = stateOf(stuck, command(at('12:00')));
    const decision = decideServiceRequest(command(at('12:00')), state)[0];
    expect(stateAfter(command(at('12:00')), [at('13:00'), at('12:30')]).device.lastJudgedAt).toBe(at('13:00'));
    expect(stateAfter(command(at('12:00')), [at('12:30'), at('13:00')]).device.lastJudgedAt).toBe(at('13:00'));
    expect(state.device.lastJudgedAt).toBeUndefined();
    expect(deviceDecider.evolve(deviceDecider.initialState(esme), decision).lastJudgedAt).toBe(at('12:00'));
    expect(evolveDevice(state.device, decision)).toBe(state.device);
    expect(evolveDevice(undefined, decision)).toBeUndefined();
    expect(evolveJudgedDevice(state.device, decision)).toEqual({ ...state.device, lastJudgedAt: at('12:00') });
  });
});
