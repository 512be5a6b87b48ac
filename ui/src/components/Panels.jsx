// The smaller views: HITL queue, background workers, sessions by repo.

import { ago, groupSessions, safeUrl, workerRows } from '../lib/logic.js';
import PanelNote from './PanelNote.jsx';

function Link({ href, children }) {
  const url = safeUrl(href);
  if (!url) return <span>{children}</span>;
  return (
    <a href={url} target="_blank" rel="noopener noreferrer">{children}</a>
  );
}

export function HitlPanel({ answer, scopeRepo, showRepo }) {
  const items = answer && answer.ok && Array.isArray(answer.data)
    ? answer.data : [];
  return (
    <section className="panel" aria-labelledby="hitl-h">
      <h2 id="hitl-h">
        HITL queue <span className="count">{items.length}</span>
      </h2>
      <PanelNote answer={answer} />
      {answer && answer.ok && items.length === 0 && (
        <p className="muted">no issue waits for a human</p>
      )}
      <ul className="rows">
        {items.map((h) => {
          const repo = h.repo || scopeRepo;
          return (
            <li key={repo + '#' + h.issue} className="row"
                data-key={repo + '#' + h.issue}>
              <div>
                {showRepo && <span className="tag">{repo}</span>}
                <Link href={h.issueUrl}>
                  <span className="num">#{h.issue}</span> {h.title}
                </Link>
              </div>
              <div className="meta">
                <span className={'badge ' + h.status}>{h.status}</span>
                <span>{h.cause}</span>
                {h.pr > 0 && <Link href={h.prUrl}>PR #{h.pr}</Link>}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

export function WorkersPanel({ answer, scopeRepo }) {
  const rows = answer && answer.ok
    ? workerRows(answer.data && answer.data.workers, scopeRepo) : [];
  return (
    <section className="panel" aria-labelledby="workers-h">
      <h2 id="workers-h">Background workers</h2>
      <PanelNote answer={answer} />
      <table className="workers">
        <tbody>
          {rows.map((row) => (
            <tr key={row.name}>
              <th scope="row" title={row.description}>{row.label}</th>
              <td>
                {row.repos.map((w) => (
                  <span key={w.repo} className={'pill ' + w.status}
                        title={w.repo + ': ' + w.status
                               + (w.lastRun ? ', ran ' + ago(w.lastRun) : '')}>
                    {w.repo} <b>{w.status}</b>
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function SessionsPanel({ answer, scopeRepo }) {
  const groups = answer && answer.ok ? groupSessions(answer.data, scopeRepo)
                                     : [];
  return (
    <section className="panel" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      <PanelNote answer={answer} />
      {answer && answer.ok && groups.length === 0 && (
        <p className="muted">no sessions</p>
      )}
      {groups.map((g) => (
        <div key={g.repo} className="group" data-repo={g.repo}>
          <h3>
            {g.repo} <span className="count">{g.sessions.length}</span>
          </h3>
          <ul className="rows">
            {g.sessions.slice(0, 5).map((s) => (
              <li key={s.id} className="row">
                <div className="meta">
                  <span className={'badge ' + s.status}>{s.status}</span>
                  <span title={s.started_at}>
                    started {ago(s.started_at) || '?'}
                  </span>
                  <span>
                    {(s.issues_processed || []).length} issues,{' '}
                    {s.issues_succeeded ?? 0} ok, {s.issues_failed ?? 0} failed
                  </span>
                </div>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}
