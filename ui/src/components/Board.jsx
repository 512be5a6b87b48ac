import { useRef } from 'react';
import { STAGES, STAGE_LABELS, buildBoard } from '../lib/logic.js';
import PanelNote from './PanelNote.jsx';

// The pipeline as five columns of cards, keyed repo#issue_number.
export default function Board({ answer, scopeRepo, showRepo }) {
  const prev = useRef({ scope: null, board: null });
  let board = null;
  if (answer && answer.ok) {
    const previous = prev.current.scope === scopeRepo ? prev.current.board
                                                      : null;
    board = buildBoard(answer.data, scopeRepo, previous);
    prev.current = { scope: scopeRepo, board };
  } else if (prev.current.scope === scopeRepo) {
    board = prev.current.board;
  }
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
