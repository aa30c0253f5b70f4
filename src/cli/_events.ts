import type { EventEntry } from "../protocol/index.ts";
import type { Palette } from "./_color.ts";
import { clockTime, formatList } from "./_output.ts";

/** What happened, as a sentence: `unit "claude" start requested, waiting for [git-clone]`. */
export function describeEvent(event: EventEntry, palette?: Palette): string {
  const unit = JSON.stringify(event.unit);
  switch (event.type) {
    case "registered":
      return `unit ${unit} registered`;
    case "dependencies_added": {
      const requires = event.requires === "success" ? "" : ` (requires ${event.requires})`;
      return `unit ${unit} depends on ${formatList(event.dependencies)}${requires}`;
    }
    case "start_requested":
      return event.unsatisfied.length === 0
        ? `unit ${unit} start requested`
        : `unit ${unit} start requested, ${palette?.yellow("waiting") ?? "waiting"} for ${formatList(event.unsatisfied)}`;
    case "status_changed": {
      if (event.to === "pending") return `unit ${unit} reset to pending for a retry`;
      const word = palette ? STATUS_STYLE[event.to](palette)(event.to) : event.to;
      return `unit ${unit} ${word}${event.reason ? `: ${event.reason}` : ""}`;
    }
  }
}

const STATUS_STYLE = {
  started: (p: Palette) => p.blue,
  completed: (p: Palette) => p.green,
  failed: (p: Palette) => p.red,
} as const;

/** One line of `unitsync events`: local time to the millisecond, then the sentence. */
export function formatEventLine(event: EventEntry, palette: Palette): string {
  return `${palette.dim(clockTime(new Date(event.time)))}  ${describeEvent(event, palette)}`;
}
