// "loading…" before the first answer, or why a view has no data.
export default function PanelNote({ answer }) {
  if (!answer) return <p className="muted small">loading…</p>;
  if (answer.ok) return null;
  return <p className="error small">no data: {answer.error}</p>;
}
