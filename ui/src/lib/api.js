// Fetching the module's views.  Every answer says who failed in it.

import { failuresOf, scopeUrl } from './logic.js';

// GET a view, scoped to `repo` (or aggregated).  Resolves, never rejects:
// {ok, status, data, failed: [{repo, reason}], error}.
// - aggregated, some repos failed: ok, data merged, failed named
//   (X-Hydra-Partial and the body's "hydra" member);
// - aggregated, none answered (502): not ok, failed named;
// - one repo that is down or not running: not ok, that repo failed.
export async function fetchView(path, repo, { signal, fetchImpl } = {}) {
  const doFetch = fetchImpl || fetch;
  let res;
  try {
    res = await doFetch(scopeUrl(path, repo), {
      headers: { Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    return { ok: false, status: 0, data: null, failed: [],
             error: 'network error' };
  }
  let data = null;
  try {
    data = await res.json();
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    data = null;
  }
  const failed = failuresOf(res.headers.get('X-Hydra-Partial'), data);
  if (res.ok) {
    return { ok: true, status: res.status, data, failed, error: null };
  }
  const error = (data && typeof data.error === 'string' && data.error)
    || (data && typeof data.detail === 'string' && data.detail)
    || 'http ' + res.status;
  if (repo && failed.length === 0) {
    failed.push({ repo, reason: res.status === 503 ? 'not running'
                               : 'http ' + res.status });
  }
  return { ok: false, status: res.status, data: null, failed, error };
}
