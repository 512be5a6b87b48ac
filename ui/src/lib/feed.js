// The live event connection: /ws (all repos, resumed with ?since=<id>) or
// /ws?repo=<key>, reconnecting with full-jitter backoff.  Framework-free;
// useEventFeed (hooks.js) wraps it for React.

import { backoffDelay, wsPath } from './logic.js';

// status: {state, retryIn (ms), detail, attempt (failures since the last
// open)}; state: 'connecting' | 'live' | 'retrying' | 'unavailable' |
// 'refused' (the stream will not be retried)
export function openFeed({
  repo,                     // '' for all repos
  getSince,                 // () => last global id seen (all repos)
  onFrames,                 // (frames[]) => void, batched
  onStatus,                 // ({state, retryIn, detail}) => void
  location = window.location,
  WebSocketImpl = window.WebSocket,
  fetchImpl = (...a) => window.fetch(...a),
  random = Math.random,
  flushMs = 50,
}) {
  let ws = null;
  let closed = false;
  let attempt = 0;
  let retryTimer = null;
  let flushTimer = null;
  let pending = [];

  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';

  function flush() {
    flushTimer = null;
    if (pending.length === 0 || closed) return;
    const batch = pending;
    pending = [];
    onFrames(batch);
  }

  function connect() {
    retryTimer = null;
    if (closed) return;
    const since = repo ? null : getSince();
    const path = wsPath(repo, since);
    onStatus({ state: 'connecting', retryIn: 0, detail: path, attempt });
    let opened = false;
    let sock;
    try {
      sock = new WebSocketImpl(scheme + location.host + path);
    } catch (err) {
      retry(false, 'cannot open ' + path);
      return;
    }
    ws = sock;
    sock.onopen = () => {
      if (closed || ws !== sock) return;
      opened = true;
      attempt = 0;
      onStatus({ state: 'live', retryIn: 0, detail: path, attempt });
    };
    sock.onmessage = (msg) => {
      if (closed || ws !== sock) return;
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      pending.push(frame);
      if (flushTimer == null) flushTimer = setTimeout(flush, flushMs);
    };
    sock.onerror = () => {};                 // onclose follows
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      if (closed) return;
      flush();
      if (ev && ev.code === 1008) {          // HydraFlow: unknown repo
        onStatus({ state: 'refused', retryIn: 0, attempt,
                   detail: ev.reason || 'refused' });
        return;
      }
      retry(opened, opened ? 'connection lost' : 'could not connect');
    };
  }

  // A socket that never opened: ask what /ws answers a plain GET, to tell
  // "not built yet" (501, all repos) and "unknown repo" (404, refused for
  // good) from a passing failure.
  async function probe() {
    try {
      const res = await fetchImpl(wsPath(repo, null), { cache: 'no-store' });
      return res.status;
    } catch {
      return 0;
    }
  }

  async function retry(wasOpen, detail) {
    const delay = backoffDelay(wasOpen ? 0 : attempt, random);
    attempt += 1;
    let state = 'retrying';
    if (!wasOpen) {
      const status = await probe();
      if (closed) return;
      if (status === 404) {                   // a repo nginx does not know
        onStatus({ state: 'refused', retryIn: 0, attempt,
                   detail: 'unknown repo' });
        return;
      }
      if (status === 501 && !repo) {
        state = 'unavailable';
        detail = 'live events for all repos not available';
      }
    }
    if (closed) return;
    onStatus({ state, retryIn: delay, detail, attempt });
    retryTimer = setTimeout(connect, delay);
  }

  connect();

  return {
    close() {
      closed = true;
      if (retryTimer != null) clearTimeout(retryTimer);
      if (flushTimer != null) clearTimeout(flushTimer);
      pending = [];
      if (ws) {
        const sock = ws;
        ws = null;
        // Closing a socket still connecting makes the browser log an
        // error: let it open, then close it.
        if (sock.readyState === 0) {
          sock.onopen = () => sock.close(1000);
        } else {
          try {
            sock.close(1000);
          } catch {
            /* already closing */
          }
        }
      }
    },
  };
}
