import { describe, expect, test } from "bun:test";
import { paletteFor } from "../../src/render/color.ts";
import { statusLines, type UnitView } from "../../src/supervisor/live-view.ts";

const plain = paletteFor({ isTTY: false });

describe("statusLines", () => {
  test("one line per unit, oldest activity first, each saying what the unit does now", () => {
    const units: UnitView[] = [
      { name: "claude", status: "pending", since: 900, startRequested: true, waitingFor: ["git-clone", "deps"] },
      { name: "git-clone", status: "completed", since: 100, startRequested: true, waitingFor: [], ranMs: 1_200 },
      { name: "deps", status: "started", since: 500, startRequested: true, waitingFor: [] },
      { name: "db", status: "failed", since: 700, startRequested: true, waitingFor: [], reason: "exit code 2" },
      { name: "lint", status: "pending", since: 800, startRequested: false, waitingFor: [] },
    ];
    expect(statusLines(units, 2_000, 2_500, plain)).toEqual([
      "── unitsync up · 2.50s ──",
      "✓ git-clone  done in 1.20s",
      "▶ deps       running 1.50s",
      "✗ db         failed: exit code 2",
      "· lint       registered",
      "… claude     waiting 1.10s for [git-clone, deps]",
    ]);
  });

  test("each lock held or waited for: who holds it, for how long, and who waits, in order", () => {
    const at = (ms: number) => new Date(ms).toISOString();
    const lines = statusLines([], 10_000, 10_000, plain, [
      {
        lock: "apt",
        holder: { script: "20-python.sh", pid: 41, requested_at: at(5_000), acquired_at: at(6_000) },
        waiters: [
          { script: "30-db.sh", pid: 42, requested_at: at(7_000) },
          { unit: "docker", pid: 43, requested_at: at(8_000) },
        ],
      },
      { lock: "npm-cache", holder: { pid: 44, requested_at: at(9_000), acquired_at: at(9_500) }, waiters: [] },
    ]);
    expect(lines.slice(1)).toEqual([
      '⚿ lock apt  held by 20-python.sh (pid 41) for 4.00s; waiting: 30-db.sh (pid 42), unit "docker" (pid 43)',
      "⚿ lock npm-cache  held by pid 44 for 500ms",
    ]);
  });

  test("past twelve units the oldest are counted, not drawn", () => {
    const units = Array.from({ length: 20 }, (_, i): UnitView => ({ name: `u${i}`, status: "started", since: i, startRequested: true, waitingFor: [] }));
    const lines = statusLines(units, 20, 20, plain);
    expect({ count: lines.length, second: lines[1], first: lines[2], last: lines.at(-1) }).toEqual({
      count: 14,
      second: "  ... 8 more",
      first: "▶ u8   running 12ms",
      last: "▶ u19  running 1ms",
    });
  });
});
