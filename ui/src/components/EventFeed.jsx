import { useState } from 'react';
import { useEventFeed } from '../lib/hooks.js';
import { eventSummary, eventTypes, filterEvents } from '../lib/logic.js';

const SHOWN = 100;

function statusText(status) {
  const secs = Math.max(1, Math.round((status.retryIn || 0) / 1000));
  switch (status.state) {
    case 'live': return 'live';
    case 'connecting': return 'connecting…';
    case 'unavailable':
      return 'live events for all repos not available (retrying in '
        + secs + ' s)';
    case 'refused': return 'refused: ' + status.detail;
    default:
      return (status.detail || 'disconnected') + ', retrying in '
        + secs + ' s';
  }
}

function time(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
}

// The live event feed with repo and type filters.  It holds its own
// connection, so a burst of events re-renders this panel only.
export default function EventFeed({ repos, scopeRepo }) {
  const { feed, status } = useEventFeed(scopeRepo);
  const [repoFilter, setRepoFilter] = useState('');
  const [typeFilter, setTypeFilter] = useState('');
  const types = eventTypes(feed.events);
  const repoKeys = [...new Set(repos.map((r) => r.key)
    .concat(feed.events.map((e) => e.repo).filter(Boolean)))].sort();
  const shown = filterEvents(feed.events, {
    repo: scopeRepo ? '' : repoFilter,
    type: typeFilter,
  }).slice(0, SHOWN);

  return (
    <section className="panel feed-panel" aria-labelledby="feed-h">
      <h2 id="feed-h">Live events</h2>
      <p className={'feed-status ' + status.state} role="status"
         data-state={status.state} data-attempts={status.attempt || 0}>
        <span className="dot" aria-hidden="true" />
        {scopeRepo ? scopeRepo : 'all repos'}: {statusText(status)}
      </p>
      {feed.gaps.length > 0 && (
        <div className="gap-notice" role="alert">
          {feed.gaps.slice(-3).map((g) => (
            <p key={g.key}>
              Gap in the feed: {g.missed ?? 'some'} events were missed
              {g.from != null ? ' (ids ' + g.from + '–' + g.to + ')' : ''}.
            </p>
          ))}
        </div>
      )}
      <div className="filters">
        <label>
          Repo{' '}
          <select value={scopeRepo || repoFilter} disabled={!!scopeRepo}
                  onChange={(e) => setRepoFilter(e.target.value)}>
            <option value="">all</option>
            {repoKeys.map((k) => <option key={k} value={k}>{k}</option>)}
            {scopeRepo && !repoKeys.includes(scopeRepo) && (
              <option value={scopeRepo}>{scopeRepo}</option>
            )}
          </select>
        </label>
        <label>
          Type{' '}
          <select value={typeFilter}
                  onChange={(e) => setTypeFilter(e.target.value)}>
            <option value="">all</option>
            {types.map((t) => <option key={t} value={t}>{t}</option>)}
            {typeFilter && !types.includes(typeFilter) && (
              <option value={typeFilter}>{typeFilter}</option>
            )}
          </select>
        </label>
        <span className="muted small">
          {shown.length} of {feed.events.length} shown
        </span>
      </div>
      <ol className="events" aria-live="off">
        {shown.map((ev) => (
          <li key={ev.key} className={'event' + (ev.type === 'gap' ? ' gap' : '')}
              data-type={ev.type} data-repo={ev.repo}>
            <time dateTime={ev.timestamp}>{time(ev.timestamp)}</time>
            {ev.repo && <span className="tag">{ev.repo}</span>}
            <span className="type">{ev.type}</span>
            <span className="summary">{eventSummary(ev)}</span>
          </li>
        ))}
        {shown.length === 0 && <li className="muted empty">no events yet</li>}
      </ol>
    </section>
  );
}
