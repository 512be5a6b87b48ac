import { useEffect } from 'react';
import Board from './components/Board.jsx';
import EventFeed from './components/EventFeed.jsx';
import MetricsPanel from './components/Metrics.jsx';
import { HitlPanel, SessionsPanel, WorkersPanel }
  from './components/Panels.jsx';
import PartialBanner from './components/PartialBanner.jsx';
import RepoSelector from './components/RepoSelector.jsx';
import { usePoll, useRepoChoice } from './lib/hooks.js';
import { collectFailures, dashKey, resolveRepo } from './lib/logic.js';

const FAST = 5000;
const SLOW = 10000;

export default function App() {
  const [choice, choose] = useRepoChoice();
  const reposAnswer = usePoll('/api/repos', '', FAST);
  const repos = (reposAnswer && reposAnswer.ok && reposAnswer.data
                 && Array.isArray(reposAnswer.data.repos))
    ? reposAnswer.data.repos.filter((r) => r && r.key) : [];

  // Any slug form in the URL is shown as the registry's key.
  const entry = resolveRepo(repos, choice);
  const scope = entry ? entry.key : choice;
  const scopeTag = entry ? entry.key : dashKey(choice);
  const aggregated = !scope;

  const pipeline = usePoll('/api/pipeline', scope, FAST);
  const hitl = usePoll('/api/hitl', scope, FAST);
  const workers = usePoll('/api/system/workers', scope, SLOW);
  const metrics = usePoll('/api/metrics', scope, SLOW);
  const sessions = usePoll('/api/sessions?group=repo', scope, SLOW);

  const failures = collectFailures({
    pipeline: pipeline && pipeline.failed,
    hitl: hitl && hitl.failed,
    workers: workers && workers.failed,
    metrics: metrics && metrics.failed,
    sessions: sessions && sessions.failed,
  });

  useEffect(() => {
    document.title = (scope ? scope : 'All repos') + ' · HydraFlow';
  }, [scope]);

  return (
    <>
      <a className="skip" href="#main">Skip to the dashboard</a>
      <header className="top">
        <h1>HydraFlow <span className="muted">fleet</span></h1>
        <RepoSelector answer={reposAnswer} repos={repos} selected={scope}
                      onChoose={choose} />
      </header>
      <main id="main" tabIndex={-1}>
        <PartialBanner failures={failures} aggregated={aggregated} />
        <p className="scope muted small">
          {aggregated ? 'All repos (aggregated)' : 'Scoped to ' + scope}
        </p>
        <Board answer={pipeline} scopeRepo={scopeTag} showRepo={aggregated} />
        <div className="grid">
          <HitlPanel answer={hitl} scopeRepo={scopeTag}
                     showRepo={aggregated} />
          <MetricsPanel answer={metrics} />
          <EventFeed repos={repos} scopeRepo={scope} />
          <WorkersPanel answer={workers} scopeRepo={scopeTag} />
          <SessionsPanel answer={sessions} scopeRepo={scopeTag} />
        </div>
      </main>
    </>
  );
}
