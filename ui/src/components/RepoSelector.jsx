import { repoHealth } from '../lib/logic.js';

// "All repos" plus one button per registry entry with its live health.
export default function RepoSelector({ answer, repos, selected, onChoose }) {
  const known = repos.some((r) => r.key === selected);
  return (
    <nav className="repos" aria-label="Repositories">
      <ul>
        <li>
          <button type="button" className="repo-btn" data-repo=""
                  aria-pressed={!selected} onClick={() => onChoose('')}>
            All repos <span className="count">{repos.length}</span>
          </button>
        </li>
        {repos.map((r) => {
          const { status, why } = repoHealth(r);
          const label = r.repo || r.key;
          return (
            <li key={r.key}>
              <button type="button" className="repo-btn" data-repo={r.key}
                      data-status={status}
                      aria-pressed={selected === r.key}
                      title={label + ': ' + status + (why ? ' (' + why + ')' : '')}
                      onClick={() => onChoose(r.key)}>
                <span className={'dot ' + status.replace(' ', '-')}
                      aria-hidden="true" />
                {r.key}
                <span className="health">
                  {status}{why ? ' · ' + why : ''}
                </span>
              </button>
            </li>
          );
        })}
        {selected && !known && answer && (
          <li>
            <button type="button" className="repo-btn" data-repo={selected}
                    aria-pressed="true" onClick={() => onChoose(selected)}>
              <span className="dot unknown" aria-hidden="true" />
              {selected}
              <span className="health">not in the registry</span>
            </button>
          </li>
        )}
      </ul>
      {answer && !answer.ok && (
        <p className="muted small">repos: {answer.error}</p>
      )}
    </nav>
  );
}
