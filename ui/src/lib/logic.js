// Pure logic of the dashboard: no React, no DOM, no network.  Unit-tested
// in test/logic.test.js.

export const STAGES = ['triage', 'plan', 'implement', 'review', 'hitl'];
export const STAGE_LABELS = {
  triage: 'Triage',
  plan: 'Plan',
  implement: 'Implement',
  review: 'Review',
  hitl: 'HITL',
};

// The dash form HydraFlow tags events and items with: owner/name ->
// owner-name (the UI's own normalisation: "/" and "\" become "-").
export function dashKey(repo) {
  if (repo == null) return '';
  return String(repo).trim().replace(/[\\/]/g, '-').toLowerCase();
}

// --- scoping -----------------------------------------------------------

// An API path scoped to one repo (?repo=<key>), or left alone for the
// aggregated "All repos" view.  Keeps any query the path already has.
export function scopeUrl(path, repo) {
  if (!repo) return path;
  const hash = path.indexOf('#');
  const base = hash >= 0 ? path.slice(0, hash) : path;
  const sep = base.includes('?') ? '&' : '?';
  return base + sep + 'repo=' + encodeURIComponent(repo);
}

// The repo chosen in a page URL's query ('' for all repos).
// `__all__` is HydraFlow's explicit "all repos" and means the same.
export function repoFromSearch(search) {
  const params = new URLSearchParams(search || '');
  const repo = (params.get('repo') || '').trim();
  return repo === '__all__' ? '' : repo;
}

// The page URL (path + query + hash) that keeps `repo` as the choice;
// other query arguments are kept.
export function pageUrlFor(href, repo) {
  const url = new URL(href);
  if (repo) url.searchParams.set('repo', repo);
  else url.searchParams.delete('repo');
  return url.pathname + url.search + url.hash;
}

// The event stream for the scope: the module's all-repos fan-out (resumed
// after `since`), or one repo's own /ws.
export function wsPath(repo, since) {
  if (repo) return scopeUrl('/ws', repo);
  if (since != null && since !== '') {
    return '/ws?since=' + encodeURIComponent(since);
  }
  return '/ws';
}

// --- partial failure ---------------------------------------------------

// "acme-web=timeout, tools=connect" -> [{repo, reason}].  A reason may
// hold spaces ("http 503", "not running"); a sessions file path may hold
// "=", a reason never does, so the last "=" splits.
export function parsePartial(header) {
  if (!header) return [];
  const out = [];
  for (const part of String(header).split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.lastIndexOf('=');
    if (eq <= 0) {
      out.push({ repo: item, reason: 'failed' });
    } else {
      out.push({
        repo: item.slice(0, eq).trim(),
        reason: item.slice(eq + 1).trim() || 'failed',
      });
    }
  }
  return out;
}

// Who did not answer an aggregated view: the X-Hydra-Partial header and,
// for object-shaped answers, the body's "hydra": {"failed": {...}} member.
export function failuresOf(partialHeader, body) {
  const seen = new Map();
  for (const f of parsePartial(partialHeader)) seen.set(f.repo, f.reason);
  const failed = body && typeof body === 'object' && !Array.isArray(body)
    && body.hydra && body.hydra.failed;
  if (failed && typeof failed === 'object') {
    for (const [repo, reason] of Object.entries(failed)) {
      if (!seen.has(repo)) seen.set(repo, String(reason));
    }
  }
  return [...seen].map(([repo, reason]) => ({ repo, reason }));
}

// The banner's content: every repo that failed in any view, with its
// reasons and the views it is missing from, sorted by repo.
// `byView` maps a view name to its failures ([{repo, reason}]).
export function collectFailures(byView) {
  const repos = new Map();
  for (const [view, failures] of Object.entries(byView || {})) {
    for (const { repo, reason } of failures || []) {
      let r = repos.get(repo);
      if (!r) {
        r = { repo, reasons: [], views: [] };
        repos.set(repo, r);
      }
      if (!r.reasons.includes(reason)) r.reasons.push(reason);
      if (!r.views.includes(view)) r.views.push(view);
    }
  }
  return [...repos.values()].sort((a, b) => a.repo.localeCompare(b.repo));
}

// --- board -------------------------------------------------------------

export function cardKey(repo, issueNumber) {
  return repo + '#' + issueNumber;
}

// /api/pipeline -> {stage: [card]}.  Cards are keyed `repo#issue_number`
// (issue numbers clash between repos); an issue without a `repo` tag (a
// single repo's own answer) takes `scopeRepo`.  As HydraFlow's UI does,
// a stage missing from the answer keeps its previous list.
export function buildBoard(pipeline, scopeRepo = '', previous = null) {
  const stages = (pipeline && pipeline.stages) || {};
  const board = {};
  for (const stage of STAGES) {
    const list = stages[stage];
    if (!Array.isArray(list)) {
      board[stage] = (previous && previous[stage]) || [];
      continue;
    }
    const seen = new Set();
    const cards = [];
    for (const issue of list) {
      if (!issue || issue.issue_number == null) continue;
      const repo = issue.repo ? dashKey(issue.repo) : dashKey(scopeRepo);
      const key = cardKey(repo, issue.issue_number);
      if (seen.has(key)) continue;
      seen.add(key);
      cards.push({
        key,
        repo,
        number: issue.issue_number,
        title: issue.title || '',
        url: safeUrl(issue.url),
        status: issue.status || '',
        epic: issue.epic_number || 0,
      });
    }
    board[stage] = cards;
  }
  return board;
}

// Only http(s) links are rendered as links.
export function safeUrl(url) {
  return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
}

// --- grouping ----------------------------------------------------------

// Items tagged with `repo` -> [{repo, items}] in first-seen order, or
// items of one repo when `scopeRepo` is given and items are untagged.
export function groupByRepo(items, scopeRepo = '') {
  const groups = new Map();
  for (const item of items || []) {
    const repo = dashKey(item && item.repo) || dashKey(scopeRepo) || '?';
    if (!groups.has(repo)) groups.set(repo, []);
    groups.get(repo).push(item);
  }
  return [...groups].map(([repo, list]) => ({ repo, items: list }));
}

function startedAt(s) {
  const t = Date.parse((s && s.started_at) || '');
  return Number.isNaN(t) ? 0 : t;
}

// Sessions grouped by repo, newest first within each group, groups by
// their newest session.  Takes `/api/sessions?group=repo`'s object
// ({repo: [SessionLog]}) or a plain `/api/sessions` array (grouped here,
// by each session's owner/name in dash form).
export function groupSessions(answer, scopeRepo = '') {
  let groups;
  if (Array.isArray(answer)) {
    groups = groupByRepo(answer, scopeRepo)
      .map(({ repo, items }) => ({ repo, sessions: items }));
  } else if (answer && typeof answer === 'object') {
    groups = Object.entries(answer)
      .filter(([repo, list]) => repo !== 'hydra' && Array.isArray(list))
      .map(([repo, list]) => ({ repo: dashKey(repo), sessions: list }));
  } else {
    groups = [];
  }
  for (const g of groups) {
    g.sessions = [...g.sessions].sort((a, b) => startedAt(b) - startedAt(a));
  }
  return groups.sort((a, b) =>
    (startedAt(b.sessions[0]) - startedAt(a.sessions[0]))
    || a.repo.localeCompare(b.repo));
}

// Background workers -> one row per worker name, one status per repo.
export function workerRows(workers, scopeRepo = '') {
  const rows = new Map();
  for (const w of workers || []) {
    if (!w || !w.name) continue;
    let row = rows.get(w.name);
    if (!row) {
      row = { name: w.name, label: w.label || w.name,
              description: w.description || '', repos: [] };
      rows.set(w.name, row);
    }
    row.repos.push({
      repo: dashKey(w.repo) || dashKey(scopeRepo),
      status: w.enabled === false ? 'disabled' : (w.status || 'unknown'),
      lastRun: w.last_run || null,
    });
  }
  return [...rows.values()];
}

// --- metrics -----------------------------------------------------------

export const RATE_LABELS = [
  ['merge_rate', 'Merge rate', 'pct'],
  ['first_pass_approval_rate', 'First-pass approval', 'pct'],
  ['quality_fix_rate', 'Quality fix rate', 'pct'],
  ['hitl_escalation_rate', 'HITL escalation', 'pct'],
  ['reviewer_fix_rate', 'Reviewer fix rate', 'pct'],
  ['avg_implementation_seconds', 'Avg implementation', 'dur'],
  ['retries_per_stage', 'Retries per stage', 'num'],
];

export function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–';
  if (seconds < 90) return Math.round(seconds) + ' s';
  if (seconds < 5400) return Math.round(seconds / 60) + ' min';
  if (seconds < 172800) return (seconds / 3600).toFixed(1) + ' h';
  return (seconds / 86400).toFixed(1) + ' d';
}

export function formatRate(value, kind) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  if (kind === 'pct') return (value * 100).toFixed(1) + '%';
  if (kind === 'dur') return formatDuration(value);
  return String(Math.round(value * 100) / 100);
}

// Durations (seconds) -> histogram bins for the time-to-merge chart.
export function histogram(values, bins = 12) {
  const xs = (values || []).filter((v) => typeof v === 'number'
                                          && Number.isFinite(v) && v >= 0);
  if (xs.length === 0) return { bins: [], max: 0, width: 0 };
  const hi = Math.max(...xs);
  const width = hi > 0 ? hi / bins : 1;
  const counts = new Array(bins).fill(0);
  for (const v of xs) {
    counts[Math.min(bins - 1, Math.floor(v / width))] += 1;
  }
  return {
    bins: counts.map((count, i) => ({ from: i * width,
                                      to: (i + 1) * width, count })),
    max: Math.max(...counts),
    width,
  };
}

// --- events ------------------------------------------------------------

export const MAX_EVENTS = 500;

// The identity of an event: the module's global id in the all-repos
// stream; (repo, id) in one repo's stream (a repo replays its history on
// every connect); type|timestamp when there is no id.
export function eventKey(ev, allRepos) {
  if (ev.id != null) return allRepos ? 'g' + ev.id : ev.repo + '#' + ev.id;
  return (ev.repo || '') + '|' + ev.type + '|' + ev.timestamp;
}

export function emptyFeed() {
  return { events: [], keys: new Set(), lastId: null, gaps: [] };
}

// Add a batch of parsed frames to the feed.  Returns a new state (the
// old one is left as it was).  Events are kept newest first, at most
// MAX_EVENTS.  `scope` is {allRepos, repo}: events of one repo's own
// stream get that repo as their tag.  A {"type":"gap"} event becomes a
// gap notice (and stays in the feed); lastId follows the global id in the
// all-repos stream, for `?since=` on reconnect.
export function addEvents(state, frames, scope) {
  const allRepos = !!(scope && scope.allRepos);
  const scopeRepo = (scope && scope.repo) || '';
  const keys = new Set(state.keys);
  let lastId = state.lastId;
  const fresh = [];
  const gaps = [];
  for (const frame of frames) {
    if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') {
      continue;
    }
    const ev = {
      id: frame.id ?? null,
      type: frame.type,
      timestamp: frame.timestamp || '',
      data: frame.data ?? null,
      repo: frame.repo ? dashKey(frame.repo)
        : (allRepos ? '' : dashKey(scopeRepo)),
    };
    const key = eventKey(ev, allRepos);
    if (keys.has(key)) continue;
    keys.add(key);
    ev.key = key;
    if (allRepos && typeof ev.id === 'number'
        && (lastId == null || ev.id > lastId)) {
      lastId = ev.id;
    }
    if (ev.type === 'gap') {
      const d = ev.data || {};
      gaps.push({ key, from: d.from ?? null, to: d.to ?? ev.id,
                  missed: d.missed ?? null, timestamp: ev.timestamp });
    }
    fresh.push(ev);
  }
  if (fresh.length === 0) return state;
  fresh.reverse();
  const events = fresh.concat(state.events).slice(0, MAX_EVENTS);
  if (keys.size > MAX_EVENTS * 4) {          // forget keys gone from view
    keys.clear();
    for (const ev of events) keys.add(ev.key);
  }
  return { events, keys, lastId,
           gaps: gaps.length ? state.gaps.concat(gaps).slice(-20) : state.gaps };
}

export function filterEvents(events, { repo = '', type = '' } = {}) {
  return events.filter((ev) => (!repo || ev.repo === repo)
                               && (!type || ev.type === type));
}

export function eventTypes(events) {
  return [...new Set(events.map((ev) => ev.type))].sort();
}

// One short line about an event's data, for the feed.
export function eventSummary(ev) {
  const d = ev.data;
  if (ev.type === 'gap' && d) {
    return 'missed ' + (d.missed ?? '?') + ' events (ids ' + (d.from ?? '?')
      + '–' + (d.to ?? '?') + ')';
  }
  if (!d || typeof d !== 'object') return d == null ? '' : String(d);
  const parts = [];
  for (const k of ['issue', 'pr', 'status', 'role', 'verdict', 'worker',
                   'cause', 'message', 'line', 'repo', 'session_id']) {
    if (d[k] != null && typeof d[k] !== 'object') {
      parts.push(k + ' ' + d[k]);
    }
    if (parts.length >= 4) break;
  }
  if (parts.length === 0) {
    const keys = Object.keys(d);
    return keys.slice(0, 4).join(', ') + (keys.length > 4 ? ', …' : '');
  }
  return parts.join(' · ');
}

// Full-jitter exponential backoff between `base` and `cap` ms.
export function backoffDelay(attempt, random = Math.random,
                             base = 1000, cap = 30000) {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt));
  return Math.round(base + random() * Math.max(0, ceiling - base));
}

// --- repos -------------------------------------------------------------

// The registry entry a choice names, in any of HydraFlow's slug forms
// (key, supervisor slug, owner/name), case-insensitively; null if none.
export function resolveRepo(repos, choice) {
  if (!choice) return null;
  const want = String(choice).toLowerCase();
  const dash = dashKey(choice);
  for (const r of repos || []) {
    if ((r.key && r.key.toLowerCase() === want)
        || (r.slug && r.slug.toLowerCase() === want)
        || (r.repo && r.repo.toLowerCase() === want)
        || (r.repo && dashKey(r.repo) === dash)) {
      return r;
    }
  }
  return null;
}

// up | down | unknown | not running, and why.
export function repoHealth(r) {
  if (!r) return { status: 'unknown', why: '' };
  if (r.running === false) return { status: 'not running', why: '' };
  const status = ['up', 'down'].includes(r.status) ? r.status : 'unknown';
  return { status, why: status === 'down' ? (r.last_error || '') : '' };
}

// "12 s ago", "3 min ago" from an ISO time (null when unknown).
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso || '');
  if (Number.isNaN(t)) return null;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}
