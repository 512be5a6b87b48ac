import { RATE_LABELS, formatDuration, formatRate, histogram }
  from '../lib/logic.js';
import PanelNote from './PanelNote.jsx';

// Time to merge: a histogram of merge durations, p50 and p90 marked.
function MergeChart({ durations, ttm }) {
  const h = histogram(durations, 12);
  if (h.bins.length === 0) {
    return <p className="muted">no merges yet</p>;
  }
  const W = 300;
  const H = 110;
  const pad = { l: 4, r: 4, t: 14, b: 16 };
  const bw = (W - pad.l - pad.r) / h.bins.length;
  const x = (sec) => pad.l + (sec / (h.width * h.bins.length))
                             * (W - pad.l - pad.r);
  const y = (n) => pad.t + (1 - n / h.max) * (H - pad.t - pad.b);
  const marks = [['p50', ttm && ttm.p50], ['p90', ttm && ttm.p90]]
    .filter(([, v]) => typeof v === 'number');
  const desc = 'Time to merge of ' + durations.length + ' merges'
    + (ttm && ttm.p50 != null ? ', median ' + formatDuration(ttm.p50) : '')
    + (ttm && ttm.p90 != null ? ', p90 ' + formatDuration(ttm.p90) : '');
  return (
    <figure className="chart">
      <svg viewBox={'0 0 ' + W + ' ' + H} role="img" aria-label={desc}>
        {h.bins.map((b, i) => (
          <rect key={i} className="bar" x={pad.l + i * bw + 1} y={y(b.count)}
                width={Math.max(1, bw - 2)}
                height={H - pad.b - y(b.count)}>
            <title>
              {formatDuration(b.from) + '–' + formatDuration(b.to)
               + ': ' + b.count}
            </title>
          </rect>
        ))}
        <line className="axis" x1={pad.l} x2={W - pad.r} y1={H - pad.b}
              y2={H - pad.b} />
        {marks.map(([name, v]) => (
          <g key={name}>
            <line className="mark" x1={x(v)} x2={x(v)} y1={pad.t}
                  y2={H - pad.b} />
            <text className="mark-label" x={x(v)} y={10}
                  textAnchor="middle">{name}</text>
          </g>
        ))}
        <text className="axis-label" x={pad.l} y={H - 4}>0</text>
        <text className="axis-label" x={W - pad.r} y={H - 4}
              textAnchor="end">
          {formatDuration(h.width * h.bins.length)}
        </text>
      </svg>
      <figcaption className="muted small">{desc}</figcaption>
    </figure>
  );
}

export default function MetricsPanel({ answer }) {
  const m = answer && answer.ok && answer.data ? answer.data : null;
  const rates = (m && m.rates) || {};
  const ttm = (m && m.time_to_merge) || {};
  const life = (m && m.lifetime) || {};
  return (
    <section className="panel" aria-labelledby="metrics-h">
      <h2 id="metrics-h">Metrics</h2>
      <PanelNote answer={answer} />
      {m && (
        <>
          <dl className="stats">
            <div><dt>Issues completed</dt>
              <dd>{life.issues_completed ?? '–'}</dd></div>
            <div><dt>PRs merged</dt><dd>{life.prs_merged ?? '–'}</dd></div>
            {RATE_LABELS.map(([key, label, kind]) => (
              <div key={key} data-rate={key}>
                <dt>{label}</dt><dd>{formatRate(rates[key], kind)}</dd>
              </div>
            ))}
            <div><dt>Time to merge (avg)</dt>
              <dd>{formatDuration(ttm.avg)}</dd></div>
            <div><dt>p50 / p90</dt>
              <dd>{formatDuration(ttm.p50)} / {formatDuration(ttm.p90)}</dd></div>
          </dl>
          <MergeChart durations={life.merge_durations || []} ttm={ttm} />
        </>
      )}
    </section>
  );
}
