/**
 * Backfill progress: a bar per index on a terminal (rows done / catalog estimate, rate, ETA),
 * progress log lines otherwise. The line rendering is pure; the board only decides when and
 * where to draw.
 */
import type { Logger } from "./logger.ts";

/** The numbers behind one progress line. */
export interface ProgressFigures {
  /** Rows written so far. */
  readonly done: number;
  /** Catalog estimate of the total (0 or less: unknown). Estimates can be low or high. */
  readonly total: number;
  /** Milliseconds since the work started. */
  readonly elapsedMs: number;
}

/** Rate and what is left, derived from `ProgressFigures`. */
export interface ProgressEstimate {
  /** Rows per second over the whole run so far (0 before anything is measured). */
  readonly rate: number;
  /** 0…1, or undefined when the total is unknown. Never 1 before `finish`. */
  readonly fraction: number | undefined;
  /** Milliseconds to go, or undefined when unknown (no total, no rate, or past the estimate). */
  readonly etaMs: number | undefined;
}

/** Derives rate, fraction and ETA. Past the estimate the fraction holds at 99%. */
export function estimateProgress(figures: ProgressFigures): ProgressEstimate {
  const seconds = figures.elapsedMs / 1000;
  const rate = seconds > 0 ? figures.done / seconds : 0;
  if (!(figures.total > 0)) return { rate, fraction: undefined, etaMs: undefined };
  const fraction = Math.min(figures.done / figures.total, 0.99);
  const left = figures.total - figures.done;
  const etaMs = rate > 0 && left > 0 ? (left / rate) * 1000 : undefined;
  return { rate, fraction, etaMs };
}

/**
 * One terminal line: `users  [#######·········]  45%  45,000/100,000 rows  1,234 rows/s  ETA 44s`.
 * Without a total: `users  45,000 rows  1,234 rows/s`.
 */
export function renderProgressLine(label: string, figures: ProgressFigures, barWidth = 24): string {
  const { rate, fraction, etaMs } = estimateProgress(figures);
  const parts = [label];
  if (fraction !== undefined) {
    const filled = Math.round(fraction * barWidth);
    parts.push(`[${"#".repeat(filled)}${"·".repeat(barWidth - filled)}]`);
    parts.push(`${String(Math.floor(fraction * 100)).padStart(3)}%`);
    parts.push(`${groupDigits(figures.done)}/${groupDigits(figures.total)} rows`);
  } else {
    parts.push(`${groupDigits(figures.done)} rows`);
  }
  parts.push(`${groupDigits(Math.round(rate))} rows/s`);
  if (fraction !== undefined) {
    parts.push(`ETA ${etaMs === undefined ? "?" : formatDuration(etaMs)}`);
  }
  return parts.join("  ");
}

/** `1234567` → `1,234,567`. */
export function groupDigits(n: number): string {
  const [int, frac] = String(Math.trunc(n * 100) / 100).split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

/** `44s`, `3m05s`, `2h07m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** One tracked piece of work. */
export interface ProgressTrack {
  /** Records the rows done so far (absolute, not a delta). */
  update(done: number): void;
  /** Marks the work finished and reports its totals. */
  finish(): void;
}

/** Options of `createProgressBoard`. */
export interface ProgressBoardOptions {
  /** Draw bars (true) or log lines (false). */
  readonly isTTY: boolean;
  /** Where bars go (a terminal stream); unused without a TTY. */
  readonly write: (text: string) => void;
  readonly logger: Logger;
  /** Default `Date.now`. */
  readonly now?: () => number;
  /** Minimum time between two redraws on a terminal; default 100 ms. */
  readonly redrawMs?: number;
  /** Minimum time between two progress logs per track; default 10 s. */
  readonly logEveryMs?: number;
}

/** Shows several concurrent backfills: one bar per line, redrawn in place. */
export interface ProgressBoard {
  track(label: string, total: number): ProgressTrack;
}

const CLEAR_LINE = "\x1b[2K";

/** Creates a board; every track it hands out draws on it. */
export function createProgressBoard(options: ProgressBoardOptions): ProgressBoard {
  const now = options.now ?? Date.now;
  const redrawMs = options.redrawMs ?? 100;
  const logEveryMs = options.logEveryMs ?? 10_000;
  interface Entry {
    readonly label: string;
    readonly total: number;
    readonly started: number;
    done: number;
    lastLog: number;
  }
  const active: Entry[] = [];
  let drawn = 0;
  let lastDraw = -Infinity;

  const figures = (e: Entry): ProgressFigures => ({
    done: e.done,
    total: e.total,
    elapsedMs: now() - e.started,
  });
  const lines = () => {
    const pad = Math.max(0, ...active.map((e) => e.label.length));
    return active.map((e) => renderProgressLine(e.label.padEnd(pad), figures(e)));
  };
  // Moves to the top of what was drawn and clears it, leaving the cursor there.
  const eraseDrawn = () => {
    let out = "\r";
    if (drawn > 1) out += `\x1b[${drawn - 1}A`;
    out += "\x1b[J";
    drawn = 0;
    return out;
  };
  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - lastDraw < redrawMs) return;
    lastDraw = t;
    const current = lines();
    options.write(eraseDrawn() + current.map((l) => CLEAR_LINE + l).join("\n"));
    drawn = current.length;
  };

  return {
    track(label, total) {
      const entry: Entry = { label, total, started: now(), done: 0, lastLog: now() };
      active.push(entry);
      if (options.isTTY) draw(true);
      else {
        options.logger.info("backfill started", { index: label, estimated_rows: total });
      }
      let finished = false;
      return {
        update(done) {
          if (finished) return;
          entry.done = done;
          if (options.isTTY) return draw(false);
          const t = now();
          if (t - entry.lastLog < logEveryMs) return;
          entry.lastLog = t;
          const est = estimateProgress(figures(entry));
          options.logger.info("backfill progress", {
            index: label,
            rows: done,
            estimated_rows: total,
            percent: est.fraction === undefined ? undefined : Math.floor(est.fraction * 100),
            rows_per_second: Math.round(est.rate),
            eta_seconds: est.etaMs === undefined ? undefined : Math.round(est.etaMs / 1000),
          });
        },
        finish() {
          if (finished) return;
          finished = true;
          active.splice(active.indexOf(entry), 1);
          const elapsedMs = now() - entry.started;
          const rate = elapsedMs > 0 ? entry.done / (elapsedMs / 1000) : 0;
          if (options.isTTY) {
            const summary = `${label}  done: ${groupDigits(entry.done)} rows in ${
              formatDuration(elapsedMs)
            } (${groupDigits(Math.round(rate))} rows/s)`;
            options.write(`${eraseDrawn()}${CLEAR_LINE}${summary}\n`);
            if (active.length > 0) draw(true);
          } else {
            options.logger.info("backfill finished", {
              index: label,
              rows: entry.done,
              duration_seconds: Math.round(elapsedMs / 1000),
              rows_per_second: Math.round(rate),
            });
          }
        },
      };
    },
  };
}
