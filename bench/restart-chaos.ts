/**
 * Issue 18 at its own size: a start-up of 200 units run by 200 bash scripts plus 100 scripts
 * that only wait (300 scripts waiting at once), the server SIGKILLed at a random point and
 * started again on the same path 0.1 to 3 s later; 20 times, each a fresh random graph.
 * Every script must end with the exit code a run without the crash gives, every unit with its
 * status, none completed twice, none waiting past its time-out (60 s).
 * Usage: `bun run bench/restart-chaos.ts [rounds]` (builds nothing: run `npm test` or
 * `bun run build.ts dist/test/unitsync` first).
 */
import { planChaos, random, runChaos } from "../test/e2e/_chaos.ts";

const ROUNDS = Number(process.argv[2] ?? 20);
const next = random(2026);
let clean = 0;
const rows: string[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const plan = planChaos(round + 1, 200, 100);
  const [killAt, down] = [100 + next() * 2_500, 100 + next() * 2_900];
  let result;
  try {
    result = await runChaos(plan, killAt, down);
  } catch (error) {
    // A round the bench itself could not finish is reported as such, never silently dropped.
    rows.push(`| ${round + 1} | ${Math.round(killAt)} ms | ${Math.round(down)} ms | | the round failed: ${String(error).slice(0, 300)} | | | |`);
    process.stderr.write(`round ${round + 1}/${ROUNDS}: failed: ${String((error as Error).stack ?? error)}\n`);
    continue;
  }
  const ok = result.wrongExits.length === 0 && result.wrongStatuses.length === 0 && result.repeated.length === 0 && result.longestScriptMs < 60_000;
  if (ok) clean++;
  rows.push(
    `| ${round + 1} | ${Math.round(result.killedAtMs)} ms | ${Math.round(result.downMs)} ms | ${Math.round(result.restartMs)} ms | ${result.wrongExits.length} | ${result.wrongStatuses.length} | ${result.repeated.length} | ${(result.longestScriptMs / 1000).toFixed(1)} s |`,
  );
  process.stderr.write(`round ${round + 1}/${ROUNDS}: ${ok ? "as without the crash" : JSON.stringify(result).slice(0, 600)}\n`);
}
console.log(
  [
    `## The server killed during a start-up of 200 units and 300 scripts, ${ROUNDS} times`,
    ``,
    `| round | killed at | down for | restarted server up after | scripts ending otherwise | units ending otherwise | units completed twice | longest script |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows,
    ``,
    `${clean} of ${ROUNDS} start-ups ended exactly as they would have without the crash.`,
    `The restarted server is started in a session of its own (see the README, "The server's own restart").`,
  ].join("\n"),
);
process.exit(clean === ROUNDS ? 0 : 1);
