/**
 * A person's `maintenance off` landing while a window starts (workers/maintenance/holders.ts `beginHold`):
 * between the window's hold and its switch of the mode, the off ends every holder and turns the mode off,
 * then the window's switch turns it on. Before the confirm step the mode stayed on with no holder until the
 * window's own end. Real Redis (holders and the action journal); the server's mode is a variable the flows
 * switch, so the moment of the off is pinned exactly.
 */
import { createActionJournal } from '../../workers/actions/journal';
import { beginHold, createMaintenanceHolders, endAllHolds, keepSilences, type HoldFlow, type HolderRecord } from '../../workers/maintenance/holders';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';
import { closeRedis } from '../../lib/redis';

describe('a maintenance off while a window starts', () => {
  const redis = testRedis();
  const prefix = testPrefix('mw-race');
  const holders = createMaintenanceHolders(redis, prefix);
  let mode = false;
  const switches: boolean[] = [];
  let seq = 0;

  afterEach(async () => {
    await deletePrefix(redis, prefix);
    mode = false;
    switches.length = 0;
  });
  afterAll(() => closeRedis(redis));

  const record = (label: string, ms = 3_600_000): HolderRecord => ({ untilMs: Date.now() + ms, label, by: 'U0BOB', why: 'test', silences: [] });

  /** A flow with its own journal; `beforeOn` runs inside its switch to on, before the mode is set. */
  function flow(beforeOn?: () => Promise<void>): HoldFlow {
    let armed = beforeOn;
    return {
      holders,
      once: createActionJournal(redis, prefix, `r${++seq}`).once,
      now: Date.now,
      async setMode(enabled) {
        if (enabled && armed) {
          const run = armed;
          armed = undefined;
          await run();
        }
        mode = enabled;
        switches.push(enabled);
      },
    };
  }

  it('with no other holder: the window is not held and the mode ends off', async () => {
    const started = await beginHold(flow(async () => {
      const off = await endAllHolds(flow(), 'off by U0BOB');
      expect(off.ended.map((h) => h.id)).toEqual(['req:win']);
    }), 'req:win', record('window'), 'window');
    expect(started).toEqual({ active: [], held: false });
    expect(mode).toBe(false);
    // off (the person), on (the window's late switch), off again (the confirm).
    expect(switches).toEqual([false, true, false]);
    expect(await holders.active(Date.now())).toEqual([]);
  });

  it('with a holder taken after the off: the window is not held, the mode stays on for the other', async () => {
    const started = await beginHold(flow(async () => {
      await endAllHolds(flow(), 'off by U0BOB');
      await holders.hold('req:other', record('other'), Date.now());
    }), 'req:win', record('window'), 'window');
    expect(started.held).toBe(false);
    expect(started.active.map((h) => h.id)).toEqual(['req:other']);
    expect(mode).toBe(true);
    expect(switches).toEqual([false, true]);
  });

  it('with no off: the window holds and the mode is on; a replay of its journal switches nothing again', async () => {
    const f = flow();
    const started = await beginHold(f, 'req:win', record('window'), 'window');
    expect(started.held).toBe(true);
    expect(started.active.map((h) => h.id)).toEqual(['req:win']);
    expect(mode).toBe(true);
    const replay = await beginHold(f, 'req:win', record('window'), 'window');
    expect(replay.held).toBe(true);
    expect(switches).toEqual([true]);
  });

  it('silences made while the off lands are expired at once; made while held, they go in the record', async () => {
    const expired: string[] = [];
    const expire = async (id: string) => void expired.push(id);
    const held = record('held');
    await holders.hold('req:held', held, Date.now());
    expect(await keepSilences(holders, 'req:held', held, ['s1', 's2'], expire)).toBe(true);
    expect((await holders.active(Date.now()))[0]!.silences).toEqual(['s1', 's2']);
    expect(expired).toEqual([]);

    const late = record('late');
    await holders.hold('req:late', late, Date.now());
    await endAllHolds(flow(), 'off by U0BOB');
    expect(await keepSilences(holders, 'req:late', late, ['s3'], expire)).toBe(false);
    expect(expired).toEqual(['s3']);
    expect(await holders.active(Date.now())).toEqual([]);
  });
});
