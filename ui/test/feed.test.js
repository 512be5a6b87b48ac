// openFeed against a scripted WebSocket and fetch, with fake timers.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openFeed } from '../src/lib/feed.js';

class FakeSocket {
  static all = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.closedWith = null;
    FakeSocket.all.push(this);
  }

  open() {
    this.readyState = 1;
    this.onopen && this.onopen({});
  }

  send(obj) {
    this.onmessage && this.onmessage({ data: JSON.stringify(obj) });
  }

  drop(code = 1006) {
    this.readyState = 3;
    this.onclose && this.onclose({ code, reason: '' });
  }

  close(code) {
    this.closedWith = code;
    this.readyState = 3;
  }
}

function setup({ repo = '', probeStatus = 400 } = {}) {
  const frames = [];
  const statuses = [];
  let lastId = null;
  const probes = [];
  const conn = openFeed({
    repo,
    getSince: () => lastId,
    onFrames: (batch) => {
      frames.push(...batch);
      for (const f of batch) if (f.id != null) lastId = f.id;
    },
    onStatus: (s) => statuses.push(s),
    location: { protocol: 'http:', host: 'h:8080' },
    WebSocketImpl: FakeSocket,
    fetchImpl: async (url) => {
      probes.push(url);
      return { status: probeStatus };
    },
    random: () => 0,
  });
  return { conn, frames, statuses, probes };
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('openFeed', () => {
  it('opens /ws for all repos and batches frames', async () => {
    const t = setup();
    const ws = FakeSocket.all[0];
    expect(ws.url).toBe('ws://h:8080/ws');
    ws.open();
    expect(t.statuses.at(-1).state).toBe('live');
    ws.send({ id: 1, type: 'a', repo: 'x' });
    ws.send({ id: 2, type: 'b', repo: 'y' });
    expect(t.frames).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60);
    expect(t.frames.map((f) => f.id)).toEqual([1, 2]);
    t.conn.close();
  });

  it('reconnects with ?since=<last id> after a drop', async () => {
    const t = setup();
    FakeSocket.all[0].open();
    FakeSocket.all[0].send({ id: 41, type: 'a', repo: 'x' });
    FakeSocket.all[0].drop();                 // flushes what it had
    expect(t.frames.map((f) => f.id)).toEqual([41]);
    expect(t.statuses.at(-1).state).toBe('retrying');
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.all[1].url).toBe('ws://h:8080/ws?since=41');
    t.conn.close();
  });

  it('says all-repos events are not available on 501 and keeps trying', async () => {
    const t = setup({ probeStatus: 501 });
    FakeSocket.all[0].drop();                 // handshake refused
    await vi.advanceTimersByTimeAsync(0);
    expect(t.probes).toEqual(['/ws']);
    const st = t.statuses.at(-1);
    expect(st.state).toBe('unavailable');
    expect(st.detail).toBe('live events for all repos not available');
    await vi.advanceTimersByTimeAsync(st.retryIn);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1].drop();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.statuses.at(-1).state).toBe('unavailable');
    // backoff grows: attempt 1 -> up to 2 s (random 0 -> 1 s floor)
    expect(t.statuses.at(-1).retryIn).toBeGreaterThanOrEqual(1000);
    await vi.advanceTimersByTimeAsync(t.statuses.at(-1).retryIn);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.all[2].open();
    expect(t.statuses.at(-1).state).toBe('live');
    t.conn.close();
  });

  it('uses /ws?repo=<key> for one repo, never ?since', async () => {
    const t = setup({ repo: 'acme-api' });
    expect(FakeSocket.all[0].url).toBe('ws://h:8080/ws?repo=acme-api');
    FakeSocket.all[0].open();
    FakeSocket.all[0].send({ id: 9, type: 'a' });
    FakeSocket.all[0].drop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.all[1].url).toBe('ws://h:8080/ws?repo=acme-api');
    expect(t.probes).toEqual([]);            // it had opened: no probe
    FakeSocket.all[1].drop();                // the repo is down
    await vi.advanceTimersByTimeAsync(0);
    expect(t.probes).toEqual(['/ws?repo=acme-api']);
    expect(t.statuses.at(-1).state).toBe('retrying');
    await vi.advanceTimersByTimeAsync(t.statuses.at(-1).retryIn);
    expect(FakeSocket.all).toHaveLength(3);
    t.conn.close();
  });

  it('gives up on a repo nginx does not know (404)', async () => {
    const t = setup({ repo: 'nope', probeStatus: 404 });
    FakeSocket.all[0].drop();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.statuses.at(-1)).toMatchObject({ state: 'refused',
                                              detail: 'unknown repo' });
    await vi.advanceTimersByTimeAsync(60000);
    expect(FakeSocket.all).toHaveLength(1);
    t.conn.close();
  });

  it('a 501 of one repo is a passing failure, not "all repos"', async () => {
    const t = setup({ repo: 'acme-api', probeStatus: 501 });
    FakeSocket.all[0].drop();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.statuses.at(-1).state).toBe('retrying');
    t.conn.close();
  });

  it('stops after a 1008 close (unknown repo)', async () => {
    const t = setup({ repo: 'nope' });
    FakeSocket.all[0].open();
    FakeSocket.all[0].drop(1008);
    expect(t.statuses.at(-1).state).toBe('refused');
    await vi.advanceTimersByTimeAsync(60000);
    expect(FakeSocket.all).toHaveLength(1);
    t.conn.close();
  });

  it('close() stops everything, a connecting socket is closed once open', async () => {
    const t = setup();
    const ws = FakeSocket.all[0];
    t.conn.close();
    expect(ws.closedWith).toBe(null);
    ws.open();
    expect(ws.closedWith).toBe(1000);
    await vi.advanceTimersByTimeAsync(60000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(t.frames).toEqual([]);
  });

  it('ignores frames that are not JSON', async () => {
    const t = setup();
    FakeSocket.all[0].open();
    FakeSocket.all[0].onmessage({ data: 'not json' });
    FakeSocket.all[0].send({ id: 1, type: 'a' });
    await vi.advanceTimersByTimeAsync(60);
    expect(t.frames).toHaveLength(1);
    t.conn.close();
  });
});
