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
