// Which repos did not answer, and why; the rest of the page still works.
// (A sessions file that cannot be read is named by its path.)
export default function PartialBanner({ failures, aggregated }) {
  if (failures.length === 0) return null;
  return (
    <div className="banner" role="alert" data-testid="partial-banner">
      <strong>
        {failures.length === 1 ? 'A repo did not answer: '
                               : failures.length + ' repos did not answer: '}
      </strong>
      <ul>
        {failures.map((f) => (
          <li key={f.repo} data-repo={f.repo}>
            {f.repo.startsWith('/') ? 'sessions file ' : ''}
            <b>{f.repo}</b> ({f.reasons.join(', ')})
            <span className="muted"> in {f.views.join(', ')}</span>
          </li>
        ))}
      </ul>
      {aggregated && (
        <span className="muted small">the other repos are shown.</span>
      )}
    </div>
  );
}
