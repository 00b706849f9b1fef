import { SingleFlight } from './single-flight.js';

describe('SingleFlight', () => {
  it('shares the running call of a key, keeps keys apart, and starts anew once it settled', async () => {
    const flights = new SingleFlight<string>();
    const calls: string[] = [];
    let finish!: () => void;
    const call = (key: string) => () => {
      calls.push(key);
      return new Promise<void>((resolve) => (finish = resolve));
    };
    const first = flights.run('a', call('a'));
    const second = flights.run('a', call('a'));
    expect(second).toBe(first);
    expect(calls).toEqual(['a']);
    const releaseA = finish;
    const other = flights.run('b', call('b'));
    expect(calls).toEqual(['a', 'b']);
    releaseA();
    await first;
    finish();
    await other;
    void flights.run('a', call('a'));
    expect(calls).toEqual(['a', 'b', 'a']);
    finish();
  });

  it('lets the next ask after a failure start a new call', async () => {
    const flights = new SingleFlight<string>();
    await expect(flights.run('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await expect(flights.run('a', () => Promise.resolve())).resolves.toBeUndefined();
  });
});
