import { statusStyle, type Palette } from "../render/color.ts";
import type { LockEntry } from "../protocol/index.ts";
import { formatDuration } from "../render/duration.ts";
import { describeClaimant } from "../render/events.ts";
import { formatList } from "../render/text.ts";
import { truncate } from "../render/timeline.ts";

/** What the live view shows of one unit. */
export interface UnitView {
  name: string;
  status: "pending" | "started" | "completed" | "failed";
  /** When its wait, run or end began, in ms on the same clock as `now`. */
  since: number;
  startRequested: boolean;
  waitingFor: string[];
  reason?: string;
  ranMs?: number;
}

const MOST_LINES = 12;
/** Locks shown at most; past that, the view says how many more. */
const MOST_LOCKS = 4;

/**
 * The live view's lines: a heading, one line per unit, most recent activity last, then one
 * per lock someone holds or waits for: who holds it since when, and who is in line.
 */
export function statusLines(units: readonly UnitView[], now: number, elapsedMs: number, palette: Palette, locks: readonly LockEntry[] = []): string[] {
  const lines = [palette.dim(`── unitsync up · ${formatDuration(elapsedMs)} ──`)];
  const shown = [...units].sort((a, b) => a.since - b.since);
  const hidden = Math.max(0, shown.length - MOST_LINES);
  const nameWidth = Math.min(24, Math.max(0, ...shown.map((u) => [...u.name].length)));
  for (const unit of shown.slice(hidden)) {
    const name = truncate(unit.name, 24).padEnd(nameWidth);
    switch (unit.status) {
      case "completed":
        lines.push(`${statusStyle(palette, "completed")("✓")} ${name}  ${palette.dim(`done${unit.ranMs === undefined ? "" : ` in ${formatDuration(unit.ranMs)}`}`)}`);
        break;
      case "failed":
        lines.push(`${statusStyle(palette, "failed")("✗")} ${name}  ${statusStyle(palette, "failed")(`failed${unit.reason ? `: ${unit.reason}` : ""}`)}`);
        break;
      case "started":
        lines.push(`${statusStyle(palette, "started")("▶")} ${name}  running ${formatDuration(now - unit.since)}`);
        break;
      default:
        lines.push(
          unit.startRequested
            ? `${statusStyle(palette, "pending")("…")} ${name}  waiting ${formatDuration(now - unit.since)} for ${formatList(unit.waitingFor)}`
            : `${palette.dim("·")} ${name}  ${palette.dim("registered")}`,
        );
    }
  }
  if (hidden > 0) lines.splice(1, 0, palette.dim(`  ... ${hidden} more`));
  for (const { lock, holder, waiters } of locks.slice(0, MOST_LOCKS)) {
    const held = holder?.acquired_at === undefined ? "free" : `held by ${describeClaimant(holder)} for ${formatDuration(now - Date.parse(holder.acquired_at))}`;
    const line = waiters.length === 0 ? "" : `; waiting: ${waiters.map(describeClaimant).join(", ")}`;
    lines.push(`${statusStyle(palette, "started")("⚿")} lock ${lock}  ${held}${palette.dim(line)}`);
  }
  if (locks.length > MOST_LOCKS) lines.push(palette.dim(`  ... ${locks.length - MOST_LOCKS} more locks`));
  return lines;
}

/**
 * A block of lines kept at the bottom of a terminal, under the scripts' output: before
 * a line goes out the block is erased, after it the block is drawn again, so the scripts'
 * lines scroll above it untouched. Lines are cut to the terminal's width so that none wraps.
 */
export class StatusArea {
  private drawn = 0;
  private closed = false;

  constructor(
    private readonly terminal: NodeJS.WriteStream,
    private readonly lines: () => string[],
  ) {}

  /** Writes `text` (whole lines) to `stream`, which shares the terminal, above the block. */
  write(stream: NodeJS.WriteStream, text: string): void {
    this.erase();
    stream.write(text);
    this.draw();
  }

  /** Draws the block again with what `lines` says now. */
  refresh(): void {
    this.erase();
    this.draw();
  }

  /** Removes the block for good; later writes go out plainly. */
  close(): void {
    this.erase();
    this.closed = true;
  }

  private draw(): void {
    if (this.closed) return;
    const width = Math.max(20, (this.terminal.columns ?? 80) - 1);
    const lines = this.lines().map((line) => fit(line, width));
    this.terminal.write(`${lines.join("\n")}\n`);
    this.drawn = lines.length;
  }

  private erase(): void {
    // Up to the block's first line, then clear to the end of the screen.
    if (this.drawn > 0) this.terminal.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }
}

/** Cuts a line that may hold ANSI styles to `width` visible characters. */
function fit(line: string, width: number): string {
  let visible = 0;
  let out = "";
  for (const part of line.split(/(\x1b\[[0-9;]*m)/)) {
    if (part.startsWith("\x1b[")) {
      out += part;
      continue;
    }
    for (const char of part) {
      if (visible === width) return `${out}\x1b[0m`;
      out += char;
      visible++;
    }
  }
  return out;
}
