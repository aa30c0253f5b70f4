import { describe, expect, test } from "bun:test";
import { freePort, serve, type Served } from "./_bash.ts";
import { attributesOf, Collector, type OtlpSpan } from "./_collector.ts";
import { BINARY, testEnv, waitUntil } from "../helpers.ts";
import { Child } from "./_bash.ts";
import type { TimelineResponse } from "../../src/protocol/index.ts";

/** Three units from bash: a clone, dependencies that wait for it, an agent that needs both; each command writes its TRACEPARENT. */
const STARTUP = `
unitsync run git-clone -- sh -c 'echo "$TRACEPARENT" > tp-git-clone; sleep 0.05'
unitsync run install-deps --after git-clone -- sh -c 'echo "$TRACEPARENT" > tp-install-deps'
unitsync want ai-agent git-clone install-deps
unitsync want ai-agent editor --requires started
unitsync start ai-agent
unitsync complete ai-agent
`;
const EDITOR = `unitsync run editor -- sh -c 'echo "$TRACEPARENT" > tp-editor'`;

async function runStartup(served: Served): Promise<void> {
  await using agent = served.bash(STARTUP);
  await using editor = served.bash(EDITOR);
  expect((await agent.result).exitCode).toBe(0);
  expect((await editor.result).exitCode).toBe(0);
}

const unitSpans = (spans: OtlpSpan[]) => {
  const root = spans.find((s) => s.name === "start-up")!;
  return new Map(spans.filter((s) => s.parentSpanId === root.spanId).map((s) => [s.name, s]));
};
const ms = (nanos: string) => Number(BigInt(nanos) / 1_000n) / 1_000;

describe("serve sends one trace per start-up to an OTLP/HTTP collector", () => {
  test("http/json: shape, ids handed to commands, headers, resource, and times that match timeline -o json", async () => {
    await using collector = new Collector();
    await using served = await serve({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.endpoint}/otlp/`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20s3cret, x-team = dev",
        OTEL_SERVICE_NAME: "workspace-boot",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=ci,workspace.owner=ana%2Cbo",
      },
    });
    await runStartup(served);
    // On a loaded machine a script's next unit may register after the others settled: the
    // trace may come in more than one batch, so wait for the unit that ends last.
    await collector.waitFor(() => collector.spans().some((s) => s.name === "ai-agent"), "the settled start-up");
    const [request] = collector.received;
    expect(request!.path).toBe("/otlp/v1/traces");
    expect(request!.contentType).toBe("application/json");
    expect(request!.headers).toMatchObject({ authorization: "Bearer s3cret", "x-team": "dev" });
    expect(attributesOf(request!.request.resourceSpans[0]!.resource)).toMatchObject({
      "service.name": "workspace-boot",
      "deployment.environment": "ci",
      "workspace.owner": "ana,bo",
      "service.version": expect.any(String),
    });

    const spans = collector.spans();
    const root = spans.find((s) => s.name === "start-up")!;
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([root.traceId]));
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length);
    expect(root.parentSpanId).toBeUndefined();
    expect(attributesOf(root)).toMatchObject({ "unitsync.startup.settled": "all units ended" });
    const units = unitSpans(spans);
    expect([...units.keys()].sort()).toEqual(["ai-agent", "editor", "git-clone", "install-deps"]);
    // Every unit ran: each has a wait and a run span under it, and ended ok.
    for (const span of units.values()) {
      expect(spans.filter((s) => s.parentSpanId === span.spanId).map((s) => s.name)).toEqual(["wait", "run"]);
      expect(span.status?.code).toBe(1);
    }
    // Each command ran under its own unit's span.
    for (const unit of ["git-clone", "install-deps", "editor"]) {
      const traceparent = (await Bun.file(`${served.dir}/tp-${unit}`).text()).trim();
      expect(traceparent).toBe(`00-${root.traceId}-${units.get(unit)!.spanId}-01`);
    }
    const agent = units.get("ai-agent")!;
    expect(attributesOf(agent)).toMatchObject({
      "unitsync.unit.status": "completed",
      "unitsync.unit.dependencies": ["git-clone", "install-deps", "editor"],
      "unitsync.unit.requirements": ["success", "success", "started"],
      "unitsync.unit.waited_ms": expect.any(Number),
    });
    expect(agent.links!.map((l) => [l.spanId, attributesOf(l)["unitsync.dependency.requires"]])).toEqual([
      [units.get("git-clone")!.spanId, "success"],
      [units.get("install-deps")!.spanId, "success"],
      [units.get("editor")!.spanId, "started"],
    ]);

    // The same moments as the timeline's, to the microsecond both round to.
    const timeline = JSON.parse((await served.run("timeline", "-o", "json")).stdout) as TimelineResponse;
    const origin = Date.parse(timeline.origin);
    // The origin on the wire is cut to the millisecond.
    expect(ms(root.startTimeUnixNano) - origin).toBeGreaterThanOrEqual(0);
    expect(ms(root.startTimeUnixNano) - origin).toBeLessThan(1);
    for (const entry of timeline.units) {
      const span = units.get(entry.unit_name)!;
      const [wait, run] = spans.filter((s) => s.parentSpanId === span.spanId);
      const start = ms(span.startTimeUnixNano);
      expect(ms(run!.startTimeUnixNano) - start).toBeCloseTo(entry.started_ms! - entry.start_requested_ms!, 2);
      expect(ms(run!.endTimeUnixNano) - ms(run!.startTimeUnixNano)).toBeCloseTo(entry.run_ms!, 2);
      expect(ms(wait!.endTimeUnixNano) - ms(wait!.startTimeUnixNano)).toBeCloseTo(entry.wait_ms!, 2);
      expect(attributesOf(span)["unitsync.unit.waited_ms"]).toBeCloseTo(entry.wait_ms!, 2);
      expect(ms(span.endTimeUnixNano) - ms(root.startTimeUnixNano)).toBeCloseTo(entry.ended_ms!, 1);
    }
    expect(ms(root.endTimeUnixNano) - ms(root.startTimeUnixNano)).toBeCloseTo(timeline.end_ms, 1);

    // timeline -o otlp prints the same trace: the same ids, names and times for every span.
    const printed = JSON.parse((await served.run("timeline", "-o", "otlp")).stdout);
    const offline = printed.resourceSpans[0].scopeSpans[0].spans as OtlpSpan[];
    const key = (s: OtlpSpan) => [s.spanId, s.parentSpanId, s.name, s.startTimeUnixNano, s.endTimeUnixNano].join(" ");
    expect(offline.map(key).sort()).toEqual(spans.map(key).sort());
  });

  test("http/protobuf by default; serve's own TRACEPARENT parents the root; --settle-after sends what ended, shutdown the rest, nothing twice", async () => {
    await using collector = new Collector();
    const parent = { trace: "0af7651916cd43dd8448eb211c80319c", span: "b7ad6b7169203331" };
    await using served = await serve({
      args: ["--settle-after", "2s"],
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.endpoint}/custom/path`, TRACEPARENT: `00-${parent.trace}-${parent.span}-01` },
    });
    // Declared first, so the start-up never has every unit ended before the dev server runs.
    expect((await served.run("want", "dev-server", "git-clone")).exitCode).toBe(0);
    expect((await served.run("run", "git-clone", "--", "true")).exitCode).toBe(0);
    // A dev server that keeps running: the start-up settles around it after 2 s of quiet.
    await using devServer = served.spawn("run", "dev-server", "--after", "git-clone", "--", "sleep", "600");
    try {
      await checkQuietThenShutdown(served, collector, devServer, parent);
    } finally {
      // run passes SIGTERM on to sleep; a SIGKILL would leave sleep holding the output pipes.
      devServer.kill("SIGTERM");
      await devServer.result;
    }
  });
  test("a failure: error statuses with the reason, and a retry after it is a new span", async () => {
    await using collector = new Collector();
    await using served = await serve({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint } });
    expect((await served.run("run", "git-clone", "--", "sh", "-c", "exit 128")).exitCode).toBe(128);
    await collector.waitFor(() => collector.received.length === 1, "the failed start-up");
    const failed = unitSpans(collector.spans()).get("git-clone")!;
    expect(failed.status).toEqual({ code: 2, message: "exit code 128" });
    expect((await served.run("run", "git-clone", "--", "true")).exitCode).toBe(0);
    await collector.waitFor(() => collector.received.length === 2, "the retry");
    const retry = collector.received[1]!.request.resourceSpans[0]!.scopeSpans[0]!.spans.find((s) => s.name === "git-clone")!;
    expect(retry.spanId).not.toBe(failed.spanId);
    expect(retry.parentSpanId).toBe(failed.parentSpanId);
    expect(retry.status).toEqual({ code: 1 });
  });

  test("a collector that answers 503 gets the batch again", async () => {
    await using collector = new Collector([503, 200]);
    await using served = await serve({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint } });
    expect((await served.run("run", "a", "--", "true")).exitCode).toBe(0);
    await collector.waitFor(() => collector.received.length === 1, "the second try");
    expect(collector.arrived).toBe(2);
    expect([...unitSpans(collector.spans()).keys()]).toEqual(["a"]);
    await served.server.waitForStderr("will retry");
  });
});

describe("a collector that is absent or slow slows no unit and costs the server no state", () => {
  /** A chain of 20 units named `prefix0`..., each `run` waiting for the one before it. */
  const chain = (prefix: string) =>
    Array.from({ length: 20 }, (_, i) => `unitsync run ${prefix}${i}${i > 0 ? ` --after ${prefix}${i - 1}` : ""} -- true`).join("\n");

  test("nothing listens at the endpoint: every unit ends, the server keeps answering, shutdown is prompt", async () => {
    await using served = await serve({ args: ["--settle-after", "50ms"], env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${freePort()}` } });
    await using first = served.bash(chain("u"));
    expect((await first.result).exitCode).toBe(0);
    await served.server.waitForStderr("will retry");
    // More work while the exporter retries: it goes through as before.
    await using second = served.bash(chain("v"));
    expect((await second.result).exitCode).toBe(0);
    const list = JSON.parse((await served.run("list", "-o", "json")).stdout) as { status: string }[];
    expect(list.map((u) => u.status)).toEqual(Array(40).fill("completed"));
    served.server.kill("SIGTERM");
    const { exitCode, stderr } = await served.server.result;
    expect(exitCode).toBe(0);
    expect(stderr).toMatch(/trace export: .*; dropped trace \w+ \(\d+ spans, shutdown\)/);
    expect(stderr).not.toContain("    at ");
  });

  test("a collector that never answers: units go on while its request hangs, and shutdown gives up after 3 s", async () => {
    await using collector = new Collector(["hang"]);
    await using served = await serve({ args: ["--settle-after", "50ms"], env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint } });
    await using first = served.bash(chain("u"));
    expect((await first.result).exitCode).toBe(0);
    await collector.waitFor(() => collector.arrived === 1, "the first request");
    // The request hangs at the collector; a second chain runs meanwhile, as fast as the first.
    const began = performance.now();
    await using second = served.bash(chain("v"));
    expect((await second.result).exitCode).toBe(0);
    const took = performance.now() - began;
    expect(collector.received.length).toBe(0);
    const timeline = JSON.parse((await served.run("timeline", "-o", "json")).stdout) as TimelineResponse;
    expect(timeline.units.filter((u) => u.status === "completed").length).toBe(40);
    // Twenty process starts in a row: seconds at worst on a loaded machine, never the 10 s of a request time-out.
    expect(took).toBeLessThan(8_000);
    const stopping = performance.now();
    served.server.kill("SIGTERM");
    const { exitCode, stderr } = await served.server.result;
    expect(exitCode).toBe(0);
    expect(performance.now() - stopping).toBeLessThan(8_000);
    expect(stderr).toContain("did not take the trace within 3000 ms of shutdown");
  });
});

describe("bad settings are usage errors, and up hands out trace context", () => {
  test.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "error: OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (unitsync sends no gRPC), not \"grpc\"\n"],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "collector:4318" }, "error: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:// or https:// URL, not \"collector:4318\"\n"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_HEADERS: "novalue" }, "error: OTEL_EXPORTER_OTLP_HEADERS: \"novalue\" is not key=value\n"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_TIMEOUT: "10s" }, "error: OTEL_EXPORTER_OTLP_TIMEOUT must be a whole number of milliseconds above 0, not \"10s\"\n"],
  ])("serve with %j exits 2", async (env, stderr) => {
    using dir = (await import("../helpers.ts")).tempDir();
    await using server = new Child([BINARY, "serve", "--socket-path", `${dir.path}/s.sock`], { env: testEnv(env) });
    expect(await server.result).toEqual({ stdout: "", stderr, exitCode: 2 });
  });

  test("serve --settle-after takes a duration", async () => {
    await using server = new Child([BINARY, "serve", "--settle-after", "soon"], { env: testEnv() });
    expect(await server.result).toEqual({
      stdout: "",
      stderr: 'error: invalid duration "soon" for --settle-after: use e.g. 30s, 5m or 1h (0 waits for every unit to end)\n',
      exitCode: 2,
    });
  });

  test("up: each script runs under the start-up's root span, each run under its unit's; the trace reaches the collector", async () => {
    await using collector = new Collector();
    using dir = (await import("../helpers.ts")).tempDir();
    await Bun.write(`${dir.path}/10-clone.sh`, `#!/bin/sh\necho "$TRACEPARENT" > ${dir.path}/script-tp\nunitsync run git-clone -- sh -c 'echo "$TRACEPARENT" > ${dir.path}/unit-tp'\n`);
    await Bun.write(`${dir.path}/20-agent.sh`, `#!/bin/sh\nunitsync run agent --after git-clone -- true\n`);
    await Bun.$`chmod +x ${dir.path}/10-clone.sh ${dir.path}/20-agent.sh`;
    await using up = new Child([BINARY, "up", `${dir.path}/10-clone.sh`, `${dir.path}/20-agent.sh`], {
      env: testEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }),
    });
    expect((await up.result).exitCode).toBe(0);
    await collector.waitFor(() => collector.spans().some((s) => s.name === "agent"), "the start-up under up");
    const spans = collector.spans();
    const root = spans.find((s) => s.name === "start-up")!;
    expect((await Bun.file(`${dir.path}/script-tp`).text()).trim()).toBe(`00-${root.traceId}-${root.spanId}-01`);
    expect((await Bun.file(`${dir.path}/unit-tp`).text()).trim()).toBe(`00-${root.traceId}-${unitSpans(spans).get("git-clone")!.spanId}-01`);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length);
  });
});

/** The rest of the --settle-after test: the quiet batch, then the shutdown batch. */
async function checkQuietThenShutdown(served: Served, collector: Collector, devServer: Child, parent: { trace: string; span: string }): Promise<void> {
  await collector.waitFor(() => collector.received.length === 1, "the quiet start-up");
  expect(devServer.running).toBe(true);
  expect(collector.received[0]!.path).toBe("/custom/path");
  expect(collector.received[0]!.contentType).toBe("application/x-protobuf");
  const first = collector.spans();
  const root = first.find((s) => s.name === "start-up")!;
  expect(root.traceId).toBe(parent.trace);
  expect(root.parentSpanId).toBe(parent.span);
  expect(attributesOf(root)["unitsync.startup.settled"]).toBe("quiet");
  expect([...unitSpans(first).keys()]).toEqual(["git-clone"]);

  // Under load the dev server may still be on its way to starting: the shutdown batch is about a running unit.
  await waitUntil(async () => JSON.parse((await served.run("status", "dev-server", "-o", "json")).stdout).status === "started", 15_000, "dev-server started");
  served.server.kill("SIGTERM");
  await collector.waitFor(() => collector.received.length === 2, "the rest at shutdown");
  expect((await served.server.result).exitCode).toBe(0);
  const second = collector.received[1]!.request.resourceSpans[0]!.scopeSpans[0]!.spans;
  const devSpan = second.find((s) => s.name === "dev-server")!;
  expect(second.filter((s) => s.parentSpanId === devSpan.spanId).map((s) => s.name)).toEqual(["wait", "run"]);
  expect(devSpan.parentSpanId).toBe(root.spanId);
  expect(attributesOf(devSpan)).toMatchObject({ "unitsync.unit.status": "started", "unitsync.unit.in_progress": true });
  expect(devSpan.links!.map((l) => l.spanId)).toEqual([unitSpans(first).get("git-clone")!.spanId]);
  expect(second.some((s) => s.name === "start-up" || s.name === "git-clone")).toBe(false);
}

test("a root span chosen for the server (UNITSYNC_TRACE_ROOT, as up does) is the trace of its units, and a server started on it again hands out the same unit span ids", async () => {
  const root = { trace: "4bf92f3577b34da6a3ce929d0e0e4736", span: "00f067aa0ba902b7" };
  const traceparents: string[] = [];
  for (let server = 0; server < 2; server++) {
    // A second server on the same root, as up starts one after a crash: the same unit starts again there.
    await using served = await serve({ env: { UNITSYNC_TRACE_ROOT: `00-${root.trace}-${root.span}-01` } });
    const ran = await served.run("run", "x", "--", "sh", "-c", 'echo "$TRACEPARENT"');
    expect(ran.exitCode).toBe(0);
    traceparents.push(ran.stdout.trim());
  }
  expect(traceparents[0]).toMatch(new RegExp(`^00-${root.trace}-[0-9a-f]{16}-01$`));
  expect(traceparents[0]).not.toContain(root.span);
  expect(traceparents[1]).toBe(traceparents[0]!);
});
