import { describe, expect, it } from 'vitest';
import { fetchView } from '../src/lib/api.js';

function answer(status, body, headers = {}) {
  const h = new Map(Object.entries(headers).map(([k, v]) =>
    [k.toLowerCase(), v]));
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (k) => h.get(k.toLowerCase()) ?? null },
    json: async () => {
      if (typeof body === 'string') throw new SyntaxError('not json');
      return body;
    },
  };
}

function fakeFetch(res) {
  const calls = [];
  const fn = async (url, opts) => {
    calls.push({ url, opts });
    if (res instanceof Error) throw res;
    return res;
  };
  fn.calls = calls;
  return fn;
}

describe('fetchView', () => {
  it('aggregated, an array with X-Hydra-Partial', async () => {
    const f = fakeFetch(answer(200, [{ issue: 1, repo: 'acme-api' }], {
      'X-Hydra-Partial': 'acme-web=timeout, tools=connect' }));
    const r = await fetchView('/api/hitl', '', { fetchImpl: f });
    expect(f.calls[0].url).toBe('/api/hitl');
    expect(r.ok).toBe(true);
    expect(r.data).toHaveLength(1);
    expect(r.failed).toEqual([{ repo: 'acme-web', reason: 'timeout' },
                              { repo: 'tools', reason: 'connect' }]);
  });

  it('aggregated, an object with its "hydra" member', async () => {
    const f = fakeFetch(answer(200, { stages: {}, hydra: {
      answered: ['acme-api'], failed: { 'acme-web': 'http 503' } } }));
    const r = await fetchView('/api/pipeline', '', { fetchImpl: f });
    expect(r.failed).toEqual([{ repo: 'acme-web', reason: 'http 503' }]);
  });

  it('aggregated, nobody answered: 502 with the reasons', async () => {
    const f = fakeFetch(answer(502, { error: 'no repo answered' },
                               { 'X-Hydra-Partial': 'a=connect, b=timeout' }));
    const r = await fetchView('/api/pipeline', '', { fetchImpl: f });
    expect(r.ok).toBe(false);
    expect(r.error).toBe('no repo answered');
    expect(r.failed.map((x) => x.repo)).toEqual(['a', 'b']);
  });

  it('one repo: scoped URL, and its failure named', async () => {
    const f = fakeFetch(answer(503, { error: 'repo acme-web is not running' }));
    const r = await fetchView('/api/pipeline', 'acme-web', { fetchImpl: f });
    expect(f.calls[0].url).toBe('/api/pipeline?repo=acme-web');
    expect(r.ok).toBe(false);
    expect(r.error).toBe('repo acme-web is not running');
    expect(r.failed).toEqual([{ repo: 'acme-web', reason: 'not running' }]);

    const g = fakeFetch(answer(502, '<html>bad gateway</html>'));
    const r2 = await fetchView('/api/hitl', 'acme-web', { fetchImpl: g });
    expect(r2.error).toBe('http 502');
    expect(r2.failed).toEqual([{ repo: 'acme-web', reason: 'http 502' }]);
  });

  it('a network error is an answer too', async () => {
    const f = fakeFetch(new TypeError('Failed to fetch'));
    const r = await fetchView('/api/hitl', '', { fetchImpl: f });
    expect(r).toMatchObject({ ok: false, status: 0, error: 'network error' });
  });

  it('an abort is passed on', async () => {
    const err = new Error('aborted');
    err.name = 'AbortError';
    await expect(fetchView('/api/hitl', '', { fetchImpl: fakeFetch(err) }))
      .rejects.toThrow('aborted');
  });
});
