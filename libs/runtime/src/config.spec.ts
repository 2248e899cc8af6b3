import { ConfigError, loadConfig } from './config';

describe('LEDGER_WHATIF_THREADS', () => {
  it('defaults to 1, takes 1 to 64, and refuses the rest naming the variable', () => {
    expect(loadConfig({}).whatIfThreads).toBe(1);
    expect(loadConfig({ LEDGER_WHATIF_THREADS: '1' }).whatIfThreads).toBe(1);
    expect(loadConfig({ LEDGER_WHATIF_THREADS: '3' }).whatIfThreads).toBe(3);
    for (const bad of ['0', '65', 'two', '1.5']) {
      expect(() => loadConfig({ LEDGER_WHATIF_THREADS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ LEDGER_WHATIF_THREADS: bad })).toThrow(/^LEDGER_WHATIF_THREADS must be a whole number from 1 to 64/);
    }
  });
});

describe('LEDGER_JOBS_NICE', () => {
  it('defaults to 10, takes 0 to 19, and refuses the rest naming the variable', () => {
    expect(loadConfig({}).jobsNice).toBe(10);
    expect(loadConfig({ LEDGER_JOBS_NICE: '0' }).jobsNice).toBe(0);
    expect(loadConfig({ LEDGER_JOBS_NICE: '19' }).jobsNice).toBe(19);
    for (const bad of ['-1', '20', 'low', '2.5']) expect(() => loadConfig({ LEDGER_JOBS_NICE: bad })).toThrow(/^LEDGER_JOBS_NICE must be a whole number from 0 to 19/);
  });
});
