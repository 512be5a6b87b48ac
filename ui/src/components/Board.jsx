import { useEffect, useMemo, useRef } from 'react';
import { STAGES, STAGE_LABELS, buildBoard } from '../lib/logic.js';
import PanelNote from './PanelNote.jsx';

// The pipeline as five columns of cards, keyed repo#issue_number.
export default function Board({ answer, scopeRepo, showRepo }) {
  // the last board of this scope: a stage missing from an answer keeps
  // its list, and a failed poll keeps the board on screen
  const last = useRef({ scope: null, board: null });
  const board = useMemo(() => {
    const prev = last.current.scope === scopeRepo ? last.current.board
                                                  : null;
    if (!answer || !answer.ok) return prev;
    return buildBoard(answer.data, scopeRepo, prev);
  }, [answer, scopeRepo]);
  useEffect(() => {
    last.current = { scope: scopeRepo, board };
  }, [scopeRepo, board]);
  return (
    <section className="panel board-panel" aria-labelledby="board-h">
      <h2 id="board-h">Pipeline</h2>
      <PanelNote answer={answer} />
      {board && (
        <div className="board">
          {STAGES.map((stage) => (
            <section key={stage} className="column" data-stage={stage}
                     aria-label={STAGE_LABELS[stage] + ', '
                                 + board[stage].length + ' issues'}>
              <h3>
                {STAGE_LABELS[stage]}
                <span className="count">{board[stage].length}</span>
              </h3>
              <ul className="cards">
                {board[stage].map((c) => (
                  <li key={c.key} className="card" data-key={c.key}
                      data-repo={c.repo}>
                    <div className="card-title">
                      {c.url ? (
                        <a href={c.url} target="_blank"
                           rel="noopener noreferrer">
                          <span className="num">#{c.number}</span> {c.title}
                        </a>
                      ) : (
                        <span><span className="num">#{c.number}</span> {c.title}</span>
                      )}
                    </div>
                    <div className="meta">
                      {showRepo && <span className="tag">{c.repo}</span>}
                      {c.status && (
                        <span className={'badge ' + c.status}>{c.status}</span>
                      )}
                      {c.epic > 0 && <span className="muted">epic #{c.epic}</span>}
                    </div>
                  </li>
                ))}
                {board[stage].length === 0 && (
                  <li className="muted empty">nothing here</li>
                )}
              </ul>
            </section>
          ))}
        </div>
      )}
    </section>
  );
}
