// ODMR sessions over time as stacked bars (successful under refused), in plain SVG, with the same
// figures in a table for screen readers.
import type { SessionBucket } from "@/lib/stats/dashboard-stats.ts";

const W = 640;
const H = 200;
const PAD = { left: 36, right: 8, top: 10, bottom: 28 };

function label(start: Date, bucket: "hour" | "day"): string {
  return bucket === "hour" ? `${String(start.getUTCHours()).padStart(2, "0")}h` : `${start.getUTCDate()}/${start.getUTCMonth() + 1}`;
}

export function SessionChart({ buckets, bucket }: { buckets: SessionBucket[]; bucket: "hour" | "day" }) {
  const max = Math.max(1, ...buckets.map((b) => b.successful + b.refused));
  const top = Math.max(4, Math.ceil(max / 4) * 4);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / buckets.length;
  const barW = Math.max(2, step * 0.7);
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const ticks = [0, top / 2, top];
  const every = buckets.length > 14 ? 3 : 1;
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" role="img" aria-labelledby="chart-title">
        {/* one string child: React renders a <title> with several children empty on the server and the text on the client (hydration error #418) */}
        <title id="chart-title">{`ODMR sessions per ${bucket}: successful and refused`}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="#e2e8f0" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" fontSize="11" fill="#64748b">
              {t}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => {
          const x = PAD.left + i * step + (step - barW) / 2;
          return (
            <g key={b.start.toISOString()}>
              <rect x={x} y={y(b.successful)} width={barW} height={plotH + PAD.top - y(b.successful)} fill="#059669">
                <title>{`${label(b.start, bucket)}: ${b.successful} successful`}</title>
              </rect>
              <rect x={x} y={y(b.successful + b.refused)} width={barW} height={y(b.successful) - y(b.successful + b.refused)} fill="#dc2626">
                <title>{`${label(b.start, bucket)}: ${b.refused} refused`}</title>
              </rect>
              {i % every === 0 ? (
                <text x={x + barW / 2} y={H - 10} textAnchor="middle" fontSize="11" fill="#64748b">
                  {label(b.start, bucket)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="mt-2 flex gap-4 text-xs text-slate-600">
        <span>
          <span className="mr-1 inline-block size-2.5 rounded-sm bg-emerald-600" aria-hidden />
          successful (mail released, or none waiting)
        </span>
        <span>
          <span className="mr-1 inline-block size-2.5 rounded-sm bg-red-600" aria-hidden />
          refused or failed
        </span>
      </figcaption>
      <table className="sr-only">
        <caption>Sessions per {bucket}</caption>
        <thead>
          <tr>
            <th>{bucket}</th>
            <th>successful</th>
            <th>refused</th>
          </tr>
        </thead>
        <tbody>
          {buckets.map((b) => (
            <tr key={b.start.toISOString()}>
              <td>{label(b.start, bucket)}</td>
              <td>{b.successful}</td>
              <td>{b.refused}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
