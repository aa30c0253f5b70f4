// A unit name is text, and the same text wherever it arrives: bytes that are not UTF-8 in
// argv, a lone surrogate in a JSON body or in a URL are refused alike, before anything changes.
import { expect, test } from "bun:test";
import type { Result } from "../helpers.ts";
import { serve } from "./_bash.ts";

const notText = (role: string): Result => ({ stdout: "", stderr: `error: ${role} is not valid UTF-8 text\n`, exitCode: 2 });

test("bytes that are not UTF-8 in argv are refused with exit 2, so $'\\xff' and $'\\xfe' never name one unit", async () => {
  await using served = await serve();
  const script = (line: string) => served.bash(line).result;
  const request = async (path: string, body: unknown) => {
    const response = await fetch(`http://unitsync${path}`, { unix: served.socketPath, method: "POST", body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  const refusal = (role: string) => ({ status: 400, body: { error: { code: "invalid_name", message: `${role} is not valid UTF-8 text` } } });
  expect({
    unit: await script(`unitsync want $'\\xff' b`),
    dependency: await script(`unitsync want a $'\\xfe'`),
    start: await script(`unitsync start $'caf\\xe9'`),
    status: await script(`unitsync status $'\\xff'`),
    // A real U+FFFD is text like any other.
    replacementCharacter: await script(`unitsync want a $'\\uFFFD'`),
    loneSurrogateInBody: await request("/v1/units/a/dependencies", { depends_on: ["\ud800"] }),
    loneSurrogateInUrl: await request("/v1/units/%ED%A0%80/start", { timeout_ms: 1 }),
    notUtf8InUrl: await request("/v1/units/%FF/complete", {}),
    units: (await served.run("list", "-o", "json")).stdout,
  }).toEqual({
    unit: notText("unit name"),
    dependency: notText("dependency name"),
    start: notText("unit name"),
    status: notText("unit name"),
    replacementCharacter: { stdout: 'Unit "a" declared dependencies: [\ufffd]\n', stderr: "", exitCode: 0 },
    loneSurrogateInBody: refusal("dependency name"),
    loneSurrogateInUrl: refusal("unit name"),
    notUtf8InUrl: refusal("unit name"),
    units: expect.stringMatching(/^\[\n  \{\n    "unit_name": "a",/),
  });
  expect(JSON.parse((await served.run("list", "-o", "json")).stdout).map((unit: { unit_name: string }) => unit.unit_name)).toEqual(["a"]);
});
