/** Display helpers: numbers and times as an operator reads them. */

export const dash = "–";

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return dash;
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

export const count = (value: number | null | undefined): string => (value === null || value === undefined ? dash : String(value));

/** A local clock time for an ISO date-time (the date too when it is not today). */
export function clock(iso: string | null | undefined): string {
  if (!iso) return dash;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

/** "in 12 s" / "3 s ago" relative to now. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return dash;
  const diff = Math.round((new Date(iso).getTime() - now) / 1000);
  return diff >= 0 ? `in ${diff} s` : `${-diff} s ago`;
}

export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
