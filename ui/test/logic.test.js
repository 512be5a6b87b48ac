import { describe, expect, it } from 'vitest';
import {
  addEvents, backoffDelay, buildBoard, collectFailures, dashKey,
  emptyFeed, eventSummary, eventTypes, failuresOf, filterEvents,
  formatDuration, formatRate, groupByRepo, groupSessions, histogram,
  MAX_EVENTS, pageUrlFor, parsePartial, repoFromSearch, repoHealth,
  resolveRepo, safeUrl, scopeUrl, workerRows, wsPath,
} from '../src/lib/logic.js';

describe('parsePartial', () => {
  it('reads the header of the README', () => {
    expect(parsePartial('acme-web=timeout, tools=connect')).toEqual([
      { repo: 'acme-web', reason: 'timeout' },
      { repo: 'tools', reason: 'connect' },
    ]);
  });
  it('keeps reasons with spaces', () => {
    expect(parsePartial('a=http 503,b=not running, c=bad json')).toEqual([
      { repo: 'a', reason: 'http 503' },
      { repo: 'b', reason: 'not running' },
      { repo: 'c', reason: 'bad json' },
    ]);
  });
  it('splits a sessions file path on its last "="', () => {
    expect(parsePartial('/srv/x=y/sessions.jsonl=missing')).toEqual([
      { repo: '/srv/x=y/sessions.jsonl', reason: 'missing' },
    ]);
  });
  it('is empty without a header, tolerates junk', () => {
    expect(parsePartial(null)).toEqual([]);
    expect(parsePartial('')).toEqual([]);
    expect(parsePartial(' , ,')).toEqual([]);
    expect(parsePartial('lonely')).toEqual([{ repo: 'lonely',
                                              reason: 'failed' }]);
    expect(parsePartial('a=')).toEqual([{ repo: 'a', reason: 'failed' }]);
  });
});

describe('failuresOf and collectFailures', () => {
  it('joins the header and the body "hydra" member, once per repo', () => {
    const body = { stages: {}, hydra: { answered: ['acme-api'],
                   failed: { 'acme-web': 'timeout', tools: 'connect' } } };
    expect(failuresOf('acme-web=timeout', body)).toEqual([
      { repo: 'acme-web', reason: 'timeout' },
      { repo: 'tools', reason: 'connect' },
    ]);
    expect(failuresOf(null, [{ a: 1 }])).toEqual([]);
    expect(failuresOf(null, null)).toEqual([]);
  });
  it('names each repo once with its reasons and views', () => {
    const out = collectFailures({
      pipeline: [{ repo: 'web', reason: 'timeout' }],
      hitl: [{ repo: 'web', reason: 'connect' },
             { repo: 'api', reason: 'http 503' }],
      metrics: [{ repo: 'web', reason: 'timeout' }],
      workers: null,
    });
    expect(out).toEqual([
      { repo: 'api', reasons: ['http 503'], views: ['hitl'] },
      { repo: 'web', reasons: ['timeout', 'connect'],
        views: ['pipeline', 'hitl', 'metrics'] },
    ]);
  });
});

describe('scoping URLs', () => {
  it('adds ?repo= only for a repo', () => {
    expect(scopeUrl('/api/pipeline', '')).toBe('/api/pipeline');
    expect(scopeUrl('/api/pipeline', 'acme-api'))
      .toBe('/api/pipeline?repo=acme-api');
    expect(scopeUrl('/api/sessions?group=repo', 'acme/api'))
      .toBe('/api/sessions?group=repo&repo=acme%2Fapi');
    expect(scopeUrl('/api/x', 'a b&c')).toBe('/api/x?repo=a%20b%26c');
  });
  it('reads and writes the choice in the page URL', () => {
    expect(repoFromSearch('?repo=acme-api')).toBe('acme-api');
    expect(repoFromSearch('?repo=__all__')).toBe('');
    expect(repoFromSearch('')).toBe('');
    expect(repoFromSearch('?x=1&repo=acme%2Fweb')).toBe('acme/web');
    expect(pageUrlFor('http://h/?x=1#f', 'acme-api'))
      .toBe('/?x=1&repo=acme-api#f');
    expect(pageUrlFor('http://h/?repo=acme-api&x=1', '')).toBe('/?x=1');
    expect(pageUrlFor('http://h/ui/?repo=a', 'b')).toBe('/ui/?repo=b');
  });
  it('picks the WebSocket of the scope', () => {
    expect(wsPath('', null)).toBe('/ws');
    expect(wsPath('', 41)).toBe('/ws?since=41');
    expect(wsPath('', 0)).toBe('/ws?since=0');
    expect(wsPath('acme-api', 41)).toBe('/ws?repo=acme-api');
  });
  it('resolves any slug form to the registry entry', () => {
    const repos = [
      { key: 'acme-api', slug: 'acme/api', repo: 'acme/api' },
      { key: 'acme-tools', slug: 'tools', repo: 'acme/tools' },
    ];
    expect(resolveRepo(repos, 'tools').key).toBe('acme-tools');
    expect(resolveRepo(repos, 'ACME/API').key).toBe('acme-api');
    expect(resolveRepo(repos, 'acme-tools').key).toBe('acme-tools');
    expect(resolveRepo(repos, 'nope')).toBe(null);
    expect(resolveRepo(repos, '')).toBe(null);
    expect(dashKey('Acme/My.Repo')).toBe('acme-my.repo');
  });
  it('tells repo health', () => {
    expect(repoHealth({ status: 'up' })).toEqual({ status: 'up', why: '' });
    expect(repoHealth({ status: 'down', last_error: 'connect' }))
      .toEqual({ status: 'down', why: 'connect' });
    expect(repoHealth({ status: 'weird' }).status).toBe('unknown');
    expect(repoHealth({ running: false, status: 'down' }).status)
      .toBe('not running');
  });
});

describe('buildBoard', () => {
  const issue = (n, repo, extra = {}) => ({
    issue_number: n, title: 't' + n, url: 'https://github.com/x/issues/' + n,
    status: 'queued', epic_number: 0, is_epic_child: false,
    ...(repo ? { repo } : {}), ...extra });

  it('keys cards repo#issue_number, the same number in two repos twice', () => {
    const b = buildBoard({ stages: {
      triage: [issue(7, 'acme-api'), issue(7, 'acme-web')],
      plan: [], implement: [], review: [], hitl: [] } });
    expect(b.triage.map((c) => c.key)).toEqual(['acme-api#7', 'acme-web#7']);
    expect(Object.keys(b)).toEqual(['triage', 'plan', 'implement',
                                    'review', 'hitl']);
  });
  it('tags untagged issues with the scope and drops duplicates', () => {
    const b = buildBoard({ stages: { review: [issue(3), issue(3)] } },
                         'acme-api');
    expect(b.review).toHaveLength(1);
    expect(b.review[0]).toMatchObject({ key: 'acme-api#3', repo: 'acme-api',
                                        number: 3, title: 't3' });
  });
  it('keeps the previous list of a missing stage', () => {
    const prev = buildBoard({ stages: { hitl: [issue(1, 'a')] } });
    const next = buildBoard({ stages: { triage: [issue(2, 'a')] } }, '',
                            prev);
    expect(next.hitl.map((c) => c.key)).toEqual(['a#1']);
    expect(next.triage.map((c) => c.key)).toEqual(['a#2']);
    expect(buildBoard({ stages: {} }).plan).toEqual([]);
    expect(buildBoard(null).plan).toEqual([]);
  });
  it('links only http(s) urls', () => {
    const b = buildBoard({ stages: { plan: [
      issue(1, 'a', { url: 'javascript:alert(1)' }), issue(2, 'a')] } });
    expect(b.plan[0].url).toBe(null);
    expect(b.plan[1].url).toBe('https://github.com/x/issues/2');
    expect(safeUrl(undefined)).toBe(null);
  });
});

describe('grouping', () => {
  const s = (id, repo, started) => ({ id, repo, started_at: started,
                                       status: 'completed' });
  it('groups a plain /api/sessions array by repo, newest first', () => {
    const groups = groupSessions([
      s('a1', 'acme/api', '2026-11-01T10:00:00+00:00'),
      s('w1', 'acme/web', '2026-11-03T10:00:00+00:00'),
      s('a2', 'acme/api', '2026-11-02T10:00:00+00:00'),
    ]);
    expect(groups.map((g) => g.repo)).toEqual(['acme-web', 'acme-api']);
    expect(groups[1].sessions.map((x) => x.id)).toEqual(['a2', 'a1']);
  });
  it('takes the ?group=repo object as it is', () => {
    const groups = groupSessions({
      'acme-api': [s('a1', 'acme/api', '2026-11-01T10:00:00+00:00')],
      'acme-web': [s('w1', 'acme/web', '2026-11-05T10:00:00+00:00'),
                   s('w2', 'acme/web', '2026-11-06T10:00:00+00:00')],
    });
    expect(groups.map((g) => g.repo)).toEqual(['acme-web', 'acme-api']);
    expect(groups[0].sessions.map((x) => x.id)).toEqual(['w2', 'w1']);
    expect(groupSessions(null)).toEqual([]);
  });
  it('groups untagged items under the scope', () => {
    expect(groupByRepo([{ a: 1 }, { repo: 'x/y' }], 'acme-api')).toEqual([
      { repo: 'acme-api', items: [{ a: 1 }] },
      { repo: 'x-y', items: [{ repo: 'x/y' }] },
    ]);
  });
  it('gives one worker row per name with one status per repo', () => {
    const rows = workerRows([
      { name: 'triage', label: 'Triage', status: 'ok', enabled: true,
        repo: 'acme-api' },
      { name: 'triage', label: 'Triage', status: 'ok', enabled: false,
        repo: 'acme-web' },
      { name: 'plan', status: 'error', enabled: true },
    ], 'acme-tools');
    expect(rows).toHaveLength(2);
    expect(rows[0].repos).toEqual([
      { repo: 'acme-api', status: 'ok', lastRun: null },
      { repo: 'acme-web', status: 'disabled', lastRun: null },
    ]);
    expect(rows[1]).toMatchObject({ label: 'plan', repos: [
      { repo: 'acme-tools', status: 'error', lastRun: null }] });
  });
});

describe('metrics formatting', () => {
  it('formats rates and durations', () => {
    expect(formatRate(0.9525, 'pct')).toBe('95.3%');
    expect(formatRate(1335.2, 'dur')).toBe('22 min');
    expect(formatRate(15, 'num')).toBe('15');
    expect(formatRate(undefined, 'pct')).toBe('–');
    expect(formatDuration(30)).toBe('30 s');
    expect(formatDuration(8439.1)).toBe('2.3 h');
    expect(formatDuration(3 * 86400)).toBe('3.0 d');
  });
  it('bins durations', () => {
    const h = histogram([0, 10, 20, 30, 40], 4);
    expect(h.bins.map((b) => b.count)).toEqual([1, 1, 1, 2]);
    expect(h.max).toBe(2);
    expect(histogram([], 4).bins).toEqual([]);
    expect(histogram([5, 5], 3).bins.map((b) => b.count)).toEqual([0, 0, 2]);
  });
});

describe('events: dedup, gaps, filters', () => {
  const ev = (id, type, repo, data = {}) => ({
    id, type, repo, data, timestamp: '2026-11-27T10:00:0' + (id % 10)
      + '+00:00' });

  it('all repos: dedups on the global id, follows lastId, newest first', () => {
    let f = addEvents(emptyFeed(), [ev(1, 'a', 'acme-api'),
                                    ev(2, 'b', 'acme-web')],
                      { allRepos: true });
    f = addEvents(f, [ev(2, 'b', 'acme-web'), ev(3, 'a', 'acme-api')],
                  { allRepos: true });
    expect(f.events.map((e) => e.id)).toEqual([3, 2, 1]);
    expect(f.lastId).toBe(3);
  });
  it('one repo: a replay of the history adds nothing, events get the tag', () => {
    const scope = { allRepos: false, repo: 'acme-api' };
    const hist = [ev(1, 'a'), ev(2, 'b')];
    let f = addEvents(emptyFeed(), hist, scope);
    const again = addEvents(f, hist, scope);
    expect(again).toBe(f);
    f = addEvents(f, [...hist, ev(3, 'c')], scope);
    expect(f.events.map((e) => e.key)).toEqual(['acme-api#3', 'acme-api#2',
                                                 'acme-api#1']);
    expect(f.events[0].repo).toBe('acme-api');
    expect(f.lastId).toBe(null);
  });
  it('turns a gap event into a notice and keeps it in the feed', () => {
    const gap = { id: 90, repo: null, type: 'gap',
                  data: { from: 40, to: 90, missed: 50 } };
    const f = addEvents(emptyFeed(), [ev(39, 'a', 'x'), gap, ev(91, 'b', 'y')],
                        { allRepos: true });
    expect(f.gaps).toEqual([{ key: 'g90', from: 40, to: 90, missed: 50,
                              timestamp: '' }]);
    expect(f.events.map((e) => e.type)).toEqual(['b', 'gap', 'a']);
    expect(f.lastId).toBe(91);
    expect(eventSummary(f.events[1])).toBe('missed 50 events (ids 40–90)');
  });
  it('skips frames that are not events, keys id-less ones on type|time', () => {
    const f = addEvents(emptyFeed(), [null, 5, { no: 'type' },
      { type: 'x', timestamp: 't1' }, { type: 'x', timestamp: 't1' }],
    { allRepos: false, repo: 'r' });
    expect(f.events).toHaveLength(1);
    expect(f.events[0].key).toBe('r|x|t1');
  });
  it('keeps at most MAX_EVENTS', () => {
    const many = [];
    for (let i = 1; i <= MAX_EVENTS + 50; i++) many.push(ev(i, 't', 'r'));
    const f = addEvents(emptyFeed(), many, { allRepos: true });
    expect(f.events).toHaveLength(MAX_EVENTS);
    expect(f.events[0].id).toBe(MAX_EVENTS + 50);
  });
  it('filters on repo and type and lists the types', () => {
    const f = addEvents(emptyFeed(), [ev(1, 'a', 'x'), ev(2, 'b', 'x'),
                                      ev(3, 'a', 'y')], { allRepos: true });
    expect(filterEvents(f.events, { repo: 'x' }).map((e) => e.id))
      .toEqual([2, 1]);
    expect(filterEvents(f.events, { type: 'a' }).map((e) => e.id))
      .toEqual([3, 1]);
    expect(filterEvents(f.events, { repo: 'x', type: 'a' })
      .map((e) => e.id)).toEqual([1]);
    expect(filterEvents(f.events).length).toBe(3);
    expect(eventTypes(f.events)).toEqual(['a', 'b']);
  });
  it('summarises an event', () => {
    expect(eventSummary({ type: 'worker_update',
      data: { issue: 38, worker: 0, status: 'running', role: 'implementer' } }))
      .toBe('issue 38 · status running · role implementer · worker 0');
    expect(eventSummary({ type: 'x', data: null })).toBe('');
  });
  it('backs off with full jitter between 1 s and 30 s', () => {
    expect(backoffDelay(0, () => 0)).toBe(1000);
    expect(backoffDelay(0, () => 1)).toBe(1000);
    expect(backoffDelay(3, () => 1)).toBe(8000);
    expect(backoffDelay(20, () => 1)).toBe(30000);
    expect(backoffDelay(20, () => 0)).toBe(1000);
  });
});
