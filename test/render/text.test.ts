import { expect, test } from "bun:test";
import { localOffsetMs } from "../../src/protocol/libc.ts";
import { formatTable } from "../../src/render/text.ts";

test("a column is padded to its widest cell, or to `widest` at most, past which a cell overflows", () => {
  const rows = [
    ["a", "exit code 1"],
    ["b", "x".repeat(30)],
  ];
  expect([formatTable(["unit", "reason"], rows), formatTable(["unit", "reason"], rows, 12)]).toEqual([
    ["UNIT  REASON                          ", "a     exit code 1                     ", `b     ${"x".repeat(30)}  `, ""].join("\n"),
    ["UNIT  REASON        ", "a     exit code 1   ", `b     ${"x".repeat(30)}  `, ""].join("\n"),
  ]);
});

test("clockTime, read through libc, is the local time Date's own getters give, in zones with and without daylight saving", () => {
  // The libc path is the one taken here (glibc): otherwise this would compare Date with itself.
  if (process.platform === "linux") expect(localOffsetMs(Date.now())).toBe(new Date().getTimezoneOffset() * -60_000 || 0);
  // Each zone in a process of its own: a time zone is read once per process.
  const moments = [Date.UTC(2026, 0, 15, 12, 0, 0, 7), Date.UTC(2026, 6, 15, 23, 59, 59, 999), Date.UTC(2026, 2, 29, 1, 30)];
  const program = `
    const { clockTime } = await import(${JSON.stringify(`${import.meta.dir}/../../src/render/text.ts`)});
    const two = (n) => String(n).padStart(2, "0");
    for (const ms of ${JSON.stringify(moments)}) {
      const d = new Date(ms);
      console.log(clockTime(d), two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds()) + "." + String(d.getMilliseconds()).padStart(3, "0"));
    }`;
  for (const zone of ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]) {
    const run = Bun.spawnSync([process.execPath, "-e", program], { env: { ...process.env, TZ: zone } });
    const lines = run.stdout.toString().trim().split("\n");
    expect(lines).toHaveLength(moments.length);
    for (const line of lines) {
      const [ours, dates] = line.split(" ");
      expect({ zone, ours }).toEqual({ zone, ours: dates! });
    }
  }
});
