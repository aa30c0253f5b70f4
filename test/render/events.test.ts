import { expect, test } from "bun:test";
import type { Palette } from "../../src/render/color.ts";
import { describeEvent, MAX_EVENT_SENTENCE } from "../../src/render/events.ts";
import type { EventEntry } from "../../src/protocol/index.ts";

const at = { seq: 1, time: "2026-01-01T00:00:00.000Z", unit: "app" };
const many = Array.from({ length: 5_000 }, (_, i) => `dependency-${i}`);
const long = "r".repeat(5_000);
const tags = (name: string) => (text: string) => `<${name}>${text}</${name}>`;
const palette = { yellow: tags("y"), red: tags("r"), blue: tags("b"), green: tags("g") } as Palette;

test.each([
  [{ ...at, type: "dependencies_added", dependencies: many, requires: "success" }, 'unit "app" depends on [dependency-0, dependency-1, '],
  [{ ...at, type: "start_requested", unsatisfied: many }, 'unit "app" start requested, waiting for [dependency-0, '],
  [{ ...at, type: "status_changed", from: "started", to: "failed", reason: long }, 'unit "app" failed: rrr'],
] as [EventEntry, string][])("a sentence with a long end is cut to its limit: %#", (event, start) => {
  const sentence = describeEvent(event);
  expect({ length: sentence.length, start: sentence.startsWith(start), end: sentence.at(-1) }).toEqual({
    length: MAX_EVENT_SENTENCE,
    start: true,
    end: "…",
  });
});

test.each([
  [{ ...at, type: "status_changed", from: "started", to: "failed", reason: long }, "failed", "<r>failed</r>"],
  [{ ...at, type: "start_requested", unsatisfied: many }, "waiting", "<y>waiting</y>"],
  [{ ...at, type: "status_changed", from: "started", to: "failed", reason: "exit code 1" }, "failed", "<r>failed</r>"],
] as [EventEntry, string, string][])("in colour, the same sentence and the same cut: %#", (event, word, coloured) => {
  expect(describeEvent(event, palette)).toBe(describeEvent(event).replace(word, coloured));
});
