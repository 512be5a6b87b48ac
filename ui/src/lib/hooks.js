// React hooks: polling a view, the repo chosen in the URL, the event feed.

import { useCallback, useEffect, useRef, useState } from 'react';
import { fetchView } from './api.js';
import { openFeed } from './feed.js';
import { addEvents, emptyFeed, pageUrlFor, repoFromSearch } from './logic.js';

// GET `path` (scoped to `repo`) now and every `intervalMs` after each
// answer.  A new scope starts from nothing.
export function usePoll(path, repo, intervalMs) {
  const [state, setState] = useState({ result: null, scope: null });

  useEffect(() => {
    const ctrl = new AbortController();
    let timer = null;
    async function tick() {
      try {
        const result = await fetchView(path, repo, { signal: ctrl.signal });
        if (ctrl.signal.aborted) return;
        setState({ result, scope: repo });
      } catch {
        if (ctrl.signal.aborted) return;
      }
      timer = setTimeout(tick, intervalMs);
    }
    tick();
    return () => {
      ctrl.abort();
      if (timer != null) clearTimeout(timer);
    };
  }, [path, repo, intervalMs]);

  // an answer of the previous scope is never shown in this one
  return state.scope === repo ? state.result : null;
}

// The repo chosen, kept in the page URL (?repo=<key>).
export function useRepoChoice() {
  const [repo, setRepo] = useState(() => repoFromSearch(window.location.search));

  useEffect(() => {
    const onPop = () => setRepo(repoFromSearch(window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const choose = useCallback((next) => {
    const url = pageUrlFor(window.location.href, next);
    if (url !== window.location.pathname + window.location.search
               + window.location.hash) {
      window.history.pushState({ repo: next }, '', url);
    }
    setRepo(next);
  }, []);

  return [repo, choose];
}

// The live events of the scope: {feed, status}.
export function useEventFeed(repo) {
  const [feed, setFeed] = useState(emptyFeed);
  const [status, setStatus] = useState({ state: 'connecting', retryIn: 0 });
  const feedRef = useRef(feed);

  useEffect(() => {
    const scope = { allRepos: !repo, repo };
    feedRef.current = emptyFeed();
    setFeed(feedRef.current);
    const conn = openFeed({
      repo,
      getSince: () => feedRef.current.lastId,
      onFrames: (frames) => {
        feedRef.current = addEvents(feedRef.current, frames, scope);
        setFeed(feedRef.current);
      },
      onStatus: setStatus,
    });
    return () => conn.close();
  }, [repo]);

  return { feed, status };
}
