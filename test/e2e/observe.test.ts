// Watching a start-up from outside: the event log (`events`, `--follow`), the dependency
// graph (`graph` as JSON, DOT read back by Graphviz, Mermaid), the timeline with its
// critical path (`timeline` as JSON, text and SVG rendered by rsvg-convert), and `ping`.
import { describe, expect, test } from "bun:test";
import { paletteFor } from "../../src/render/color.ts";
import { formatTimeline } from "../../src/render/timeline.ts";
import type { EventEntry, GraphResponse, TimelineResponse, TimelineUnit } from "../../src/protocol/index.ts";
import { BINARY, testEnv, testNeeding, testServer, waitUntil } from "../helpers.ts";
import {
  Child,
  linesOf,
  ok,
  pinged,
  rootOutput,
  run,
  serve,
  unitScript,
  waitedOutput,
  type Served,
} from "./_bash.ts";

/** `HH:MM:SS.mmm` in local time, as the text output stamps each event. */
function localClock(iso: string): string {
  const date = new Date(iso);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

async function jsonOf<T>(served: Served, ...args: string[]): Promise<T> {
  const result = await served.run(...args);
  expect({ args, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ args, exitCode: 0, stderr: "" });
  return JSON.parse(result.stdout) as T;
}

/** Feeds `input` to an external tool and returns what it printed (stdout as bytes) and its exit code. */
async function pipeThrough(command: string[], input: string): Promise<{ stdout: Uint8Array; stderr: string; exitCode: number }> {
  const child = Bun.spawn(command, { stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).bytes(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, exitCode };
}

/** The environment of `served` with NO_COLOR removed: colour is then up to whether stdout is a terminal. */
function withoutNoColor(served: Served): Record<string, string> {
  const { NO_COLOR: _, ...env } = served.env;
  return env;
}

/** An event without its number and time, each kind of event keeping its own fields. */
type Stampless<T> = T extends unknown ? Omit<T, "seq" | "time"> : never;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("events", () => {
  /**
   * claude waits for git-clone and install-deps, install-deps waits for git-clone; each
   * script is seen waiting before the next begins, so the order of events is fixed. Then
   * lint, which needs git-clone to end either way, runs `false` and fails.
   */
  async function startUp(served: Served): Promise<void> {
    await using claude = served.bash(unitScript("claude", ["git-clone", "install-deps"]));
    await claude.waitForStdout("is waiting");
    await using deps = served.bash(unitScript("install-deps", ["git-clone"]));
    await deps.waitForStdout("is waiting");
    await using git = served.bash(unitScript("git-clone"));
    expect({ git: await git.result, deps: await deps.result, claude: await claude.result }).toEqual({
      git: ok(rootOutput("git-clone")),
      deps: ok(waitedOutput("install-deps", ["git-clone"])),
      claude: ok(waitedOutput("claude", ["git-clone", "install-deps"])),
    });
    await using lint = served.bash(`unitsync run lint --after git-clone --requires completion -- false || echo "lint exited $?"`);
    expect(await lint.result).toEqual(ok("lint exited 1\n"));
  }

  /** Every event of `startUp`, without its seq and time, and its sentence in the text output. */
  const STARTUP_EVENTS: Array<[Stampless<EventEntry>, string]> = [
    [{ type: "registered", unit: "claude" }, `unit "claude" registered`],
    [
      { type: "dependencies_added", unit: "claude", dependencies: ["git-clone", "install-deps"], requires: "success" },
      `unit "claude" depends on [git-clone, install-deps]`,
    ],
    [
      { type: "start_requested", unit: "claude", unsatisfied: ["git-clone", "install-deps"] },
      `unit "claude" start requested, waiting for [git-clone, install-deps]`,
    ],
    [{ type: "registered", unit: "install-deps" }, `unit "install-deps" registered`],
    [
      { type: "dependencies_added", unit: "install-deps", dependencies: ["git-clone"], requires: "success" },
      `unit "install-deps" depends on [git-clone]`,
    ],
    [
      { type: "start_requested", unit: "install-deps", unsatisfied: ["git-clone"] },
      `unit "install-deps" start requested, waiting for [git-clone]`,
    ],
    [{ type: "registered", unit: "git-clone" }, `unit "git-clone" registered`],
    [{ type: "start_requested", unit: "git-clone", unsatisfied: [] }, `unit "git-clone" start requested`],
    [{ type: "status_changed", unit: "git-clone", from: "pending", to: "started" }, `unit "git-clone" started`],
    [{ type: "status_changed", unit: "git-clone", from: "started", to: "completed" }, `unit "git-clone" completed`],
    [{ type: "status_changed", unit: "install-deps", from: "pending", to: "started" }, `unit "install-deps" started`],
    [{ type: "status_changed", unit: "install-deps", from: "started", to: "completed" }, `unit "install-deps" completed`],
    [{ type: "status_changed", unit: "claude", from: "pending", to: "started" }, `unit "claude" started`],
    [{ type: "status_changed", unit: "claude", from: "started", to: "completed" }, `unit "claude" completed`],
    [{ type: "registered", unit: "lint" }, `unit "lint" registered`],
    [
      { type: "dependencies_added", unit: "lint", dependencies: ["git-clone"], requires: "completion" },
      `unit "lint" depends on [git-clone] (requires completion)`,
    ],
    [{ type: "start_requested", unit: "lint", unsatisfied: [] }, `unit "lint" start requested`],
    [{ type: "status_changed", unit: "lint", from: "pending", to: "started" }, `unit "lint" started`],
    [
      { type: "status_changed", unit: "lint", from: "started", to: "failed", reason: "exit code 1", propagated: false },
      `unit "lint" failed: exit code 1`,
    ],
  ];

  test("-o json numbers every event from 1 without gaps, in time order, each unit's life in order; text says the same", async () => {
    await using served = await serve();
    await startUp(served);
    const events = await jsonOf<EventEntry[]>(served, "events", "-o", "json");
    const text = await served.run("events");
    const lines = linesOf(text.stdout);
    const lifeOf = (unit: string) =>
      events.filter((event) => event.unit === unit).map((event) => (event.type === "status_changed" ? event.to : event.type));
    expect({
      seqs: events.map((event) => event.seq),
      timesInOrder: events.every((event, i) => i === 0 || event.time >= events[i - 1]!.time),
      lives: Object.fromEntries(["git-clone", "install-deps", "claude", "lint"].map((unit) => [unit, lifeOf(unit)])),
      entries: events.map(({ seq: _, time: __, ...entry }) => entry),
      text: { exitCode: text.exitCode, stderr: text.stderr },
      // Each line: the event's local time to the millisecond, two spaces, the sentence.
      lines: lines.map((line) => [line.slice(0, 14), line.slice(14)]),
    }).toEqual({
      seqs: range(1, STARTUP_EVENTS.length),
      timesInOrder: true,
      lives: {
        "git-clone": ["registered", "start_requested", "started", "completed"],
        "install-deps": ["registered", "dependencies_added", "start_requested", "started", "completed"],
        claude: ["registered", "dependencies_added", "start_requested", "started", "completed"],
        lint: ["registered", "dependencies_added", "start_requested", "started", "failed"],
      },
      entries: STARTUP_EVENTS.map(([entry]) => entry),
      text: { exitCode: 0, stderr: "" },
      lines: STARTUP_EVENTS.map(([, sentence], i) => [`${localClock(events[i]!.time)}  `, sentence]),
    });
  });

  test("--after N gives only the events numbered above N, in JSON and in text", async () => {
    await using served = await serve();
    await startUp(served);
    const all = await jsonOf<EventEntry[]>(served, "events", "-o", "json");
    const allText = linesOf((await served.run("events")).stdout);
    const count = all.length;
    const afters = [0, 1, 10, count - 1, count, count + 5];

    const seen = [];
    for (const after of afters) {
      seen.push({
        after,
        json: await jsonOf<EventEntry[]>(served, "events", "-o", "json", "--after", String(after)),
        text: await served.run("events", "--after", String(after)),
      });
    }
    expect(seen).toEqual(
      afters.map((after) => ({
        after,
        json: all.slice(after),
        text: ok(after >= count ? "No events yet\n" : `${allText.slice(after).join("\n")}\n`),
      })),
    );
  });

  test("--follow replays the log, then prints each new event as it happens; killing it leaves the server well", async () => {
    await using served = await serve();
    await served.run("want", "claude", "git-clone"); // events 1 and 2
    await using json = served.spawn("events", "--follow", "-o", "json");
    await using text = served.spawn("events", "--follow");
    const seen = async (seq: number, sentence: string) => {
      await json.waitForStdout(`{"seq":${seq},`);
      await text.waitForStdout(`  ${sentence}\n`);
    };
    await seen(2, `unit "claude" depends on [git-clone]`);

    // Each step is seen by both followers before the next one is taken.
    await served.run("start", "git-clone");
    await seen(5, `unit "git-clone" started`);
    await using claude = served.bash("unitsync start claude");
    await seen(6, `unit "claude" start requested, waiting for [git-clone]`);
    await served.run("complete", "git-clone");
    await seen(8, `unit "claude" started`);
    await served.run("fail", "claude", "--reason", "boom");
    await seen(9, `unit "claude" failed: boom`);

    json.kill("SIGINT");
    text.kill("SIGKILL");
    await Promise.all([json.result, text.result, claude.result]);
    const log = await jsonOf<EventEntry[]>(served, "events", "-o", "json");
    const logText = await served.run("events");
    expect({
      followedJson: linesOf(json.stdout).map((line) => JSON.parse(line)),
      followedText: text.stdout,
      stderr: [json.stderr, text.stderr],
      ping: await served.run("ping"),
      another: await served.run("start", "after-the-followers"),
      newEvents: (await jsonOf<EventEntry[]>(served, "events", "-o", "json", "--after", "9")).map((e) => [e.seq, e.type]),
    }).toEqual({
      followedJson: log,
      followedText: logText.stdout,
      stderr: ["", ""],
      ping: pinged(served.server.pid, served.socketPath, "from UNITSYNC_SOCKET_PATH", 2),
      another: ok(`Unit "after-the-followers" started with no dependencies\n`),
      newEvents: [
        [10, "registered"],
        [11, "start_requested"],
        [12, "status_changed"],
      ],
    });
  });

  test("--follow --after N, with N beyond the newest event, prints only events numbered above N", async () => {
    // An in-process server, so the test can wait until the follower is in before acting.
    await using server = await testServer();
    const env = testEnv({ UNITSYNC_SOCKET_PATH: server.socketPath });
    expect(await run(["start", "first"], env)).toEqual(ok(`Unit "first" started with no dependencies\n`)); // events 1 to 3
    await using follower = new Child([BINARY, "events", "--follow", "-o", "json", "--after", "5"], { env });
    await waitUntil(() => server.view.followers() === 1, 5_000, "the follower");
    await run(["start", "second"], env); // events 4 to 6
    await run(["start", "third"], env); // events 7 to 9
    await follower.waitForStdout(`"unit":"third","from":"pending","to":"started"}`);
    expect(linesOf(follower.stdout).map((line) => JSON.parse(line).seq)).toEqual([6, 7, 8, 9]);
  });

  test("20 scripts registering, starting and completing at once: every event once, each script's in its order", async () => {
    await using served = await serve();
    expect(await served.run("start", "base")).toEqual(ok(`Unit "base" started with no dependencies\n`));
    expect(await served.run("complete", "base")).toEqual(ok("Success\n"));
    const units = Array.from({ length: 20 }, (_, i) => `u${String(i).padStart(2, "0")}`);
    await using scripts = new AsyncDisposableStack();
    const children = units.map((unit) => scripts.use(served.bash(unitScript(unit, ["base"]))));
    expect(await Promise.all(children.map((child) => child.result))).toEqual(
      units.map((unit) => ok(`Unit "${unit}" declared dependencies: [base]\nUnit "${unit}" started immediately, dependencies already satisfied: [base]\nSuccess\n`)),
    );

    const events = await jsonOf<EventEntry[]>(served, "events", "-o", "json");
    const keyOf = (event: EventEntry) => `${event.unit} ${event.type === "status_changed" ? event.to : event.type}`;
    const script = ["registered", "dependencies_added", "start_requested", "started", "completed"];
    expect({
      seqs: events.map((event) => event.seq),
      timesInOrder: events.every((event, i) => i === 0 || event.time >= events[i - 1]!.time),
      everyEventOnce: events.map(keyOf).toSorted(),
      orderPerScript: Object.fromEntries(
        units.map((unit) => [unit, events.filter((event) => event.unit === unit).map((event) => keyOf(event).split(" ")[1])]),
      ),
    }).toEqual({
      seqs: range(1, 4 + units.length * script.length),
      timesInOrder: true,
      everyEventOnce: [
        ...["registered", "start_requested", "started", "completed"].map((step) => `base ${step}`),
        ...units.flatMap((unit) => script.map((step) => `${unit} ${step}`)),
      ].toSorted(),
      orderPerScript: Object.fromEntries(units.map((unit) => [unit, script])),
    });
  });
});

// ---------------------------------------------------------------------------------------

/** One token of Graphviz's plain output: a bare word, or a quoted string where only `\"` is an escape. */
function plainTokens(line: string): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < line.length; ) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    if (line[i] !== '"') {
      const end = line.indexOf(" ", i);
      tokens.push(line.slice(i, end < 0 ? undefined : end));
      i = end < 0 ? line.length : end;
      continue;
    }
    let token = "";
    for (i++; i < line.length && line[i] !== '"'; i++) {
      if (line[i] === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) {
        token += line[i + 1] === '"' ? '"' : "\\\\";
        i++;
      } else token += line[i];
    }
    tokens.push(token);
    i++;
  }
  return tokens;
}

/** A DOT label as Graphviz shows it: `\n`, `\l`, `\r` end a line, `\x` is `x`. */
function shownLabel(label: string): string {
  return label.replace(/\\(.)/g, (_, c: string) => ("nlr".includes(c) ? "\n" : c));
}

interface PlainGraph {
  /** By Graphviz's node name: the label as shown, and the style. */
  nodes: Map<string, { label: string; style: string }>;
  edges: Array<{ from: string; to: string; label?: string }>;
}

/** `dot -Tplain` read back: nodes and edges as Graphviz understood them. */
function parsePlain(plain: string): PlainGraph {
  const graph: PlainGraph = { nodes: new Map(), edges: [] };
  for (const line of linesOf(plain)) {
    const tokens = plainTokens(line);
    if (tokens[0] === "node") graph.nodes.set(tokens[1]!, { label: shownLabel(tokens[6]!), style: tokens[7]! });
    if (tokens[0] === "edge") {
      const rest = tokens.slice(4 + 2 * Number(tokens[3]));
      graph.edges.push({ from: tokens[1]!, to: tokens[2]!, ...(rest.length === 5 && { label: rest[0] }) });
    }
  }
  return graph;
}

const XML_ENTITIES: Record<string, string> = { quot: '"', amp: "&", lt: "<", gt: ">", apos: "'" };
/** XML text as shown; Graphviz keeps runs of spaces as no-break spaces, which show as spaces. */
const decodeXml = (text: string) =>
  text.replace(/&#160;/g, " ").replace(/&(#x?[0-9a-fA-F]+|\w+);/g, (_, code: string) =>
    code.startsWith("#x") ? String.fromCodePoint(parseInt(code.slice(2), 16))
    : code.startsWith("#") ? String.fromCodePoint(Number(code.slice(1)))
    : XML_ENTITIES[code]!,
  );

/** The text an SVG shows, one entry per `<text>` element (a `<title>` tooltip inside is left out). */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>(?:<title>.*?<\/title>)?(.*?)<\/text>/g)].map((match) => decodeXml(match[1]!));
}

interface MermaidChart {
  header: string;
  nodes: Array<{ id: string; name: string; status: string; className: string }>;
  edges: Array<{ from: string; arrow: string; to: string }>;
  classDefs: string[];
  /** Lines that are none of the above. */
  other: string[];
}

function parseMermaid(text: string): MermaidChart {
  const [header = "", ...lines] = linesOf(text);
  const chart: MermaidChart = { header, nodes: [], edges: [], classDefs: [], other: [] };
  for (const line of lines) {
    const node = /^ {2}(\S+)\["(.*)"\]:::(\S+)$/.exec(line);
    const edge = /^ {2}(\S+) (-->|-\. \w+ \.->) (\S+)$/.exec(line);
    const classDef = /^ {2}classDef (\S+) .+$/.exec(line);
    if (node) {
      const [name, status, ...more] = node[2]!.split("<br/>");
      // A raw `"`, `<`, `>`, `&` or backquote would end or mark up the label: they must be `#code;` entities.
      const safe = more.length === 0 && !/["<>&`]/.test(name!);
      const decoded = name!.replace(/#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)));
      chart.nodes.push({ id: node[1]!, name: safe ? decoded : `UNSAFE LABEL ${node[2]}`, status: status!, className: node[3]! });
    } else if (edge) chart.edges.push({ from: edge[1]!, arrow: edge[2]!, to: edge[3]! });
    else if (classDef) chart.classDefs.push(classDef[1]!);
    else chart.other.push(line);
  }
  return chart;
}

const CLASS_DEFS = ["pending", "started", "completed", "failed", "not_registered"];
const classOf = (status: string) => status.replace(" ", "_");

describe("graph", () => {
  /** A graph with every status: completed, started, pending, failed, and a name nobody registered. */
  async function buildGraph(served: Served): Promise<void> {
    const steps = [
      ["want", "claude", "git-clone", "install-deps"],
      ["want", "install-deps", "node-runtime"],
      ["start", "git-clone"],
      ["complete", "git-clone"],
      ["start", "editor"],
      ["want", "lint", "editor", "--requires", "started"],
      ["fail", "docs", "--reason", "no space left"],
    ];
    for (const step of steps) expect({ step, exitCode: (await served.run(...step)).exitCode }).toEqual({ step, exitCode: 0 });
  }

  const EXPECTED: GraphResponse = {
    units: [
      { unit_name: "claude", status: "pending" },
      { unit_name: "docs", status: "failed", reason: "no space left" },
      { unit_name: "editor", status: "started" },
      { unit_name: "git-clone", status: "completed" },
      { unit_name: "install-deps", status: "pending" },
      { unit_name: "lint", status: "pending" },
      { unit_name: "node-runtime", status: "not registered" },
    ],
    edges: [
      { unit_name: "claude", depends_on: "git-clone", requires: "success", is_satisfied: true },
      { unit_name: "claude", depends_on: "install-deps", requires: "success", is_satisfied: false },
      { unit_name: "install-deps", depends_on: "node-runtime", requires: "success", is_satisfied: false },
      { unit_name: "lint", depends_on: "editor", requires: "started", is_satisfied: true },
    ],
  };

  test("-o json: every unit with its status, names only depended on included, every edge with its requirement", async () => {
    await using served = await serve();
    await buildGraph(served);
    expect(await served.run("graph", "-o", "json")).toEqual(ok(`${JSON.stringify(EXPECTED, null, 2)}\n`));
  });

  testNeeding("dot")("DOT (the default) is read by Graphviz: dot -Tsvg draws it, dot -Tplain has every node and edge, arrows from dependency to dependent", async () => {
    await using served = await serve();
    await buildGraph(served);
    const dot = await served.run("graph");
    const [svg, plain] = await Promise.all([pipeThrough(["dot", "-Tsvg"], dot.stdout), pipeThrough(["dot", "-Tplain"], dot.stdout)]);
    const texts = svgTexts(new TextDecoder().decode(svg.stdout));
    const graph = parsePlain(new TextDecoder().decode(plain.stdout));
    expect({
      dot: { exitCode: dot.exitCode, stderr: dot.stderr },
      svg: { exitCode: svg.exitCode, stderr: svg.stderr },
      drawnNames: EXPECTED.units.map(({ unit_name }) => texts.includes(unit_name)),
      plain: { exitCode: plain.exitCode, stderr: plain.stderr },
      nodes: Object.fromEntries(graph.nodes),
      edges: graph.edges.map(({ from, to, label }) => `${from} -> ${to}${label ? ` [${label}]` : ""}`).toSorted(),
    }).toEqual({
      dot: { exitCode: 0, stderr: "" },
      svg: { exitCode: 0, stderr: "" },
      drawnNames: EXPECTED.units.map(() => true),
      plain: { exitCode: 0, stderr: "" },
      nodes: Object.fromEntries(
        EXPECTED.units.map(({ unit_name, status }) => [
          unit_name,
          { label: `${unit_name}\n${status}`, style: status === "not registered" ? "rounded,dashed" : "rounded,filled" },
        ]),
      ),
      edges: [
        "editor -> lint [started]",
        "git-clone -> claude",
        "install-deps -> claude",
        "node-runtime -> install-deps",
      ],
    });
  });

  test("Mermaid: a flowchart with one node per unit, one edge per dependency, a class per status", async () => {
    await using served = await serve();
    await buildGraph(served);
    const result = await served.run("graph", "-o", "mermaid");
    const chart = parseMermaid(result.stdout);
    const nameOf = new Map(chart.nodes.map((node) => [node.id, node.name]));
    expect({
      exitCode: result.exitCode,
      stderr: result.stderr,
      header: chart.header,
      nodes: chart.nodes.map(({ name, status, className }) => ({ name, status, className })),
      ids: { unique: new Set(nameOf.keys()).size === chart.nodes.length, words: chart.nodes.every(({ id }) => /^u_[A-Za-z0-9_]+$/.test(id)) },
      edges: chart.edges.map(({ from, arrow, to }) => `${nameOf.get(from)} ${arrow} ${nameOf.get(to)}`),
      classDefs: chart.classDefs,
      other: chart.other,
    }).toEqual({
      exitCode: 0,
      stderr: "",
      header: "flowchart LR",
      nodes: EXPECTED.units.map(({ unit_name, status }) => ({ name: unit_name, status, className: classOf(status) })),
      ids: { unique: true, words: true },
      edges: [
        "git-clone --> claude",
        "install-deps --> claude",
        "node-runtime --> install-deps",
        "editor -. started .-> lint",
      ],
      classDefs: CLASS_DEFS,
      other: [],
    });
  });

  // Every name a script could hand over that DOT or Mermaid might take for syntax. Three
  // names that differ only in punctuation must still get distinct Mermaid ids.
  const ODD = {
    quote: 'say "hi"',
    backslash: "C:\\work\\repo",
    trailingBackslash: "ends\\",
    escapes: "\\n\\l\\N",
    spaces: "two  spaces here",
    unicode: "日本語 ünïcødé 🚀",
    hash: "#1 priority",
    markup: "R&D <team>",
    dash: "a-b",
    underscore: "a_b",
    space: "a b",
  };

  async function buildOddGraph(served: Served): Promise<Array<[string, string, string]>> {
    const edges: Array<[string, string, string]> = [
      [ODD.quote, ODD.backslash, "success"],
      [ODD.quote, ODD.trailingBackslash, "success"],
      [ODD.backslash, ODD.escapes, "success"],
      [ODD.spaces, ODD.unicode, "success"],
      [ODD.unicode, ODD.hash, "started"],
      [ODD.hash, ODD.markup, "success"],
      [ODD.dash, ODD.underscore, "completion"],
      [ODD.underscore, ODD.space, "success"],
    ];
    for (const [unit, dependency, requires] of edges) {
      expect(await served.run("want", unit, dependency, "--requires", requires)).toEqual(
        ok(`Unit ${JSON.stringify(unit)} declared dependencies: [${dependency}]\n`),
      );
    }
    expect(await served.run("start", ODD.markup)).toEqual(ok(`Unit ${JSON.stringify(ODD.markup)} started with no dependencies\n`));
    return edges;
  }

  testNeeding("dot")("names with quotes, backslashes, spaces, unicode and # come out of Graphviz as they went in", async () => {
    await using served = await serve();
    const edges = await buildOddGraph(served);
    const graph = await jsonOf<GraphResponse>(served, "graph", "-o", "json");
    const dot = await served.run("graph", "-o", "dot");
    const [svg, plain] = await Promise.all([pipeThrough(["dot", "-Tsvg"], dot.stdout), pipeThrough(["dot", "-Tplain"], dot.stdout)]);
    const texts = svgTexts(new TextDecoder().decode(svg.stdout));
    const parsed = parsePlain(new TextDecoder().decode(plain.stdout));
    // Graphviz's own node names are only a means here: each node is known by its label.
    const nameOf = (node: string) => parsed.nodes.get(node)?.label.split("\n")[0];
    expect({
      exitCodes: [dot.exitCode, svg.exitCode, plain.exitCode],
      stderr: [dot.stderr, svg.stderr, plain.stderr],
      labels: [...parsed.nodes.values()].map(({ label }) => label).toSorted(),
      drawn: graph.units.map(({ unit_name, status }) => [unit_name, texts.includes(unit_name), texts.includes(status)]),
      edges: parsed.edges.map(({ from, to, label }) => [nameOf(from), nameOf(to), label ?? "success"]).toSorted(),
    }).toEqual({
      exitCodes: [0, 0, 0],
      stderr: ["", "", ""],
      labels: graph.units.map(({ unit_name, status }) => `${unit_name}\n${status}`).toSorted(),
      drawn: graph.units.map(({ unit_name }) => [unit_name, true, true]),
      edges: edges.map(([unit, dependency, requires]) => [dependency, unit, requires]).toSorted(),
    });
  });

  testNeeding("dot")("Graphviz knows each node by the unit's name, backslashes included", async () => {
    await using served = await serve();
    await served.run("want", "C:\\work\\repo", "a\\b");
    const plain = await pipeThrough(["dot", "-Tplain"], (await served.run("graph")).stdout);
    expect([...parsePlain(new TextDecoder().decode(plain.stdout)).nodes.keys()].toSorted()).toEqual(["C:\\work\\repo", "a\\b"]);
  });

  testNeeding("dot")("names that look like HTML entities are drawn as they are by Graphviz", async () => {
    await using served = await serve();
    const names = ["a&amp;b", "&#35;1", "&lt;b&gt;"];
    await served.run("want", names[0]!, names[1]!, names[2]!);
    const plain = await pipeThrough(["dot", "-Tplain"], (await served.run("graph")).stdout);
    const labels = [...parsePlain(new TextDecoder().decode(plain.stdout)).nodes.values()].map(({ label }) => label.split("\n")[0]);
    expect(labels.toSorted()).toEqual(names.toSorted());
  });

  test("names with quotes, backslashes, spaces, unicode and # survive Mermaid: entity-escaped labels, distinct word ids", async () => {
    await using served = await serve();
    const edges = await buildOddGraph(served);
    const graph = await jsonOf<GraphResponse>(served, "graph", "-o", "json");
    const chart = parseMermaid((await served.run("graph", "-o", "mermaid")).stdout);
    const nameOf = new Map(chart.nodes.map((node) => [node.id, node.name]));
    expect({
      header: chart.header,
      nodes: chart.nodes.map(({ name, status, className }) => ({ name, status, className })),
      ids: { unique: new Set(nameOf.keys()).size === chart.nodes.length, words: chart.nodes.every(({ id }) => /^u_[A-Za-z0-9_]+$/.test(id)) },
      edges: chart.edges.map(({ from, arrow, to }) => [nameOf.get(from), arrow, nameOf.get(to)]).toSorted(),
      classDefs: chart.classDefs,
      other: chart.other,
    }).toEqual({
      header: "flowchart LR",
      nodes: graph.units.map(({ unit_name, status }) => ({ name: unit_name, status, className: classOf(status) })),
      ids: { unique: true, words: true },
      edges: edges
        .map(([unit, dependency, requires]) => [dependency, requires === "success" ? "-->" : `-. ${requires} .->`, unit])
        .toSorted(),
      classDefs: CLASS_DEFS,
      other: [],
    });
  });
});

// ---------------------------------------------------------------------------------------

/**
 * The timeline's start-up: a chain a -> b -> c (c needs b, b needs a) with real work in each,
 * and lint, unrelated, failing after a short run. c and b are seen waiting before a begins.
 * Returns once c runs; c ends only when `finish` is called (its script reads a FIFO).
 */
async function chainStartUp(served: Served): Promise<AsyncDisposable & { finish(): Promise<void> }> {
  expect(await served.bash("mkfifo c-may-end").result).toEqual(ok(""));
  const c = served.bash(`
unitsync want c b
unitsync start c
echo "c running"
read -r _ < c-may-end
unitsync complete c`);
  try {
    await c.waitForStdout("is waiting");
    await using b = served.bash(unitScript("b", ["a"], "sleep 0.1"));
    await b.waitForStdout("is waiting");
    await using a = served.bash(unitScript("a", [], "sleep 0.1"));
    await using lint = served.bash(`unitsync run lint -- bash -c 'sleep 0.05; exit 1' || echo "lint exited $?"`);
    expect({ a: await a.result, b: await b.result, lint: await lint.result }).toEqual({
      a: ok(rootOutput("a")),
      b: ok(waitedOutput("b", ["a"])),
      lint: ok("lint exited 1\n"),
    });
    await c.waitForStdout("c running");
  } catch (error) {
    await c[Symbol.asyncDispose]();
    throw error;
  }
  return {
    async finish() {
      expect(await served.bash("echo go > c-may-end").result).toEqual(ok(""));
      expect(await c.result).toEqual(ok(`${waitedOutput("c", ["b"]).replace("Success\n", "")}c running\nSuccess\n`));
    },
    [Symbol.asyncDispose]: () => c[Symbol.asyncDispose](),
  };
}

/** `a -> b -> c` for a path, with each link's name. */
const namesOf = (units: TimelineUnit[]) => units.map((unit) => unit.unit_name);
const close = (a: number | undefined, b: number | undefined) => a !== undefined && b !== undefined && Math.abs(a - b) <= 0.01;

describe("timeline", () => {
  test("-o json while c still runs: in progress, and the critical path leads to the running unit", async () => {
    await using served = await serve();
    await using startUp = await chainStartUp(served);
    const timeline = await jsonOf<TimelineResponse>(served, "timeline", "-o", "json");
    const c = timeline.units.find((unit) => unit.unit_name === "c")!;
    expect({
      criticalPath: namesOf(timeline.critical_path),
      progress: Object.fromEntries(timeline.units.map((unit) => [unit.unit_name, [unit.status, unit.in_progress]])),
      c: { started: c.started_ms !== undefined, ended: c.ended_ms, runsUntilNow: close(c.started_ms! + c.run_ms!, timeline.now_ms) },
      endIsNow: timeline.end_ms === timeline.now_ms,
    }).toEqual({
      criticalPath: ["a", "b", "c"],
      progress: { a: ["completed", false], b: ["completed", false], c: ["started", true], lint: ["failed", false] },
      c: { started: true, ended: undefined, runsUntilNow: true },
      endIsNow: true,
    });
    await startUp.finish();
  });

  test("-o json after the start-up: critical path a -> b -> c, waits and runs consistent, the end is c's", async () => {
    await using served = await serve();
    await using startUp = await chainStartUp(served);
    await startUp.finish();
    const timeline = await jsonOf<TimelineResponse>(served, "timeline", "-o", "json");
    const unit = Object.fromEntries(timeline.units.map((u) => [u.unit_name, u]));
    const { a, b, c, lint } = unit as Record<string, TimelineUnit>;
    const activityStart = (u: TimelineUnit) => u.start_requested_ms ?? u.started_ms ?? u.ended_ms!;
    expect({
      criticalPath: timeline.critical_path,
      outcomes: Object.fromEntries(timeline.units.map((u) => [u.unit_name, [u.status, u.reason, u.in_progress]])),
      waitIsStartedMinusRequested: timeline.units.map((u) => [u.unit_name, close(u.started_ms! - u.start_requested_ms!, u.wait_ms)]),
      runIsEndedMinusStarted: timeline.units.map((u) => [u.unit_name, close(u.ended_ms! - u.started_ms!, u.run_ms)]),
      endIsCsEnd: timeline.end_ms === c!.ended_ms,
      eachLinkStartsAfterTheLastEnds: [b!.started_ms! >= a!.ended_ms!, c!.started_ms! >= b!.ended_ms!],
      realWork: [a!.run_ms! >= 100, b!.run_ms! >= 100, b!.wait_ms! >= 100, lint!.run_ms! >= 50],
      orderedByActivity: timeline.units.every((u, i) => i === 0 || activityStart(u) >= activityStart(timeline.units[i - 1]!)),
      firstIsTimeZero: timeline.units[0]!.registered_ms,
    }).toEqual({
      criticalPath: [a!, b!, c!],
      outcomes: { a: ["completed", undefined, false], b: ["completed", undefined, false], c: ["completed", undefined, false], lint: ["failed", "exit code 1", false] },
      waitIsStartedMinusRequested: timeline.units.map((u) => [u.unit_name, true]),
      runIsEndedMinusStarted: timeline.units.map((u) => [u.unit_name, true]),
      endIsCsEnd: true,
      eachLinkStartsAfterTheLastEnds: [true, true],
      realWork: [true, true, true, true],
      orderedByActivity: true,
      firstIsTimeZero: 0,
    });
  });

  test("text: fits 80 columns, one row per unit, the legend and the critical path; no colour on a pipe even without NO_COLOR", async () => {
    await using served = await serve();
    await using startUp = await chainStartUp(served);
    await startUp.finish();
    const text = await served.run("timeline");
    const uncoloured = await run(["timeline"], withoutNoColor(served));
    const lines = linesOf(text.stdout);
    const rows = lines
      .map((line) => /^([* ]) (\S+) +(\S+) +(\S+) {2}(.*)$/u.exec(line))
      .filter((row) => row !== null && ["a", "b", "c", "lint"].includes(row[2]!))
      .map((row) => ({ mark: row![1]!, unit: row![2]!, bars: [...new Set(row![5])].filter((glyph) => glyph !== " ").join("") }));
    const axisRow = lines.findIndex((line) => line.startsWith("  UNIT "));
    const duration = /\d+(\.\d+)?(ms|s)/g;
    const criticalPath = lines.slice(lines.findIndex((line) => line.startsWith("Critical path:")));
    expect({
      exitCode: text.exitCode,
      stderr: text.stderr,
      tooWide: lines.filter((line) => [...line].length > 80),
      heading: lines.slice(0, 2).map((line) => line.replace(duration, "<d>")),
      axisRow: /^ {2}UNIT {5}WAIT {6}RUN {2}0 /.test(lines[axisRow] ?? ""),
      rows: rows.toSorted((x, y) => (x.unit < y.unit ? -1 : 1)),
      rowCount: lines.slice(axisRow + 1, lines.indexOf("", axisRow)).length,
      legend: lines.includes("░ waiting  █ running  ✗ failed  ▸ in progress  * critical path"),
      criticalPath: criticalPath.map((line) => line.replace(duration, "<d>").replace(/ +/g, " ")),
      uncoloured: uncoloured,
    }).toEqual({
      exitCode: 0,
      stderr: "",
      tooWide: [],
      heading: ["Start-up timeline: 4 units in <d>", ""],
      axisRow: true,
      rows: [
        { mark: "*", unit: "a", bars: expect.stringMatching(/^░?█$/) },
        { mark: "*", unit: "b", bars: "░█" },
        { mark: "*", unit: "c", bars: "░█" },
        { mark: " ", unit: "lint", bars: expect.stringMatching(/^░?█?✗$/) },
      ],
      rowCount: 4,
      legend: true,
      criticalPath: [
        "Critical path: a -> b -> c",
        " a @<d> ran <d>",
        " b @<d> waited <d>, ran <d>",
        " c @<d> waited <d>, ran <d>",
        " c ended at <d>",
      ],
      uncoloured: ok(text.stdout),
    });
  });

  test("text: the time axis stays within 80 columns for every span", () => {
    const unit = (name: string, from: number, to: number): TimelineUnit => ({
      unit_name: name,
      status: "completed",
      registered_ms: from,
      start_requested_ms: from,
      started_ms: from,
      ended_ms: to,
      wait_ms: 0,
      run_ms: to - from,
      in_progress: false,
    });
    const noColour = paletteFor({ isTTY: false });
    const tooWide = [];
    for (let end = 200; end <= 1_500; end += 0.5) {
      const units = [unit("a", 0, 100), unit("b", 100, 150), unit("c", 150, end), unit("unrelated", 0, 50)];
      const text = formatTimeline({ origin: "", now_ms: end, end_ms: end, units, critical_path: [] }, noColour, 80);
      const widest = Math.max(...linesOf(text).map((line) => [...line].length));
      if (widest > 80) tooWide.push(end);
    }
    expect(tooWide).toEqual([]);
  });

  test("text: a long critical path and a long failure reason still fit 80 columns", async () => {
    await using served = await serve();
    const names = ["fetch-the-repository-mirror", "install-every-dependency", "build-the-whole-workspace"];
    await served.run("start", names[0]!);
    await served.run("complete", names[0]!);
    await served.run("want", names[1]!, names[0]!);
    await served.run("start", names[1]!);
    await served.run("complete", names[1]!);
    await served.run("want", names[2]!, names[1]!);
    await served.run("start", names[2]!);
    await served.run("fail", names[2]!, "--reason", "the compiler ran out of memory while linking the workspace's largest crate");
    const lines = linesOf((await served.run("timeline")).stdout);
    expect(lines.filter((line) => [...line].length > 80)).toEqual([]);
  });

  testNeeding("rsvg-convert")("-o svg renders to PNG with rsvg-convert; it names every unit, outlines the critical path and crosses out the failure", async () => {
    await using served = await serve();
    await using startUp = await chainStartUp(served);
    await startUp.finish();
    const svg = await served.run("timeline", "-o", "svg");
    const png = await pipeThrough(["rsvg-convert", "--format", "png"], svg.stdout);
    // Each row's name is a <text> with the full name as its <title>; a cross is the red X.
    const nameRows = [...svg.stdout.matchAll(/<text x="[\d.]+" y="([\d.]+)"[^>]*><title>([^<]*)<\/title>\2<\/text>/g)].map(
      ([, y, name]) => ({ name: decodeXml(name!), middle: Number(y) - 4 }),
    );
    const crosses = [...svg.stdout.matchAll(/<path d="M[\d.]+ ([\d.]+) L[\d.]+ ([\d.]+) M[^"]*" stroke="#e53e3e"/g)].map(
      ([, top, bottom]) => (Number(top) + Number(bottom)) / 2,
    );
    const outlined = [...svg.stdout.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*stroke="#dd6b20"/g)].map(
      ([, y, height]) => Number(y) + Number(height) / 2,
    );
    const rowOf = (y: number) => nameRows.find((row) => Math.abs(row.middle - y) < 13)?.name;
    expect({
      exitCode: svg.exitCode,
      stderr: svg.stderr,
      png: { exitCode: png.exitCode, stderr: png.stderr, signature: [...png.stdout.subarray(0, 8)] },
      rows: nameRows.map(({ name }) => name).toSorted(),
      names: ["a", "b", "c", "lint"].map((name) => svgTexts(svg.stdout).includes(name)),
      criticalPath: svgTexts(svg.stdout).includes("critical path: a → b → c"),
      outlinedInCriticalColour: [...new Set(outlined.map(rowOf))].toSorted(),
      crossedOut: crosses.map(rowOf),
    }).toEqual({
      exitCode: 0,
      stderr: "",
      png: { exitCode: 0, stderr: "", signature: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
      rows: ["a", "b", "c", "lint"],
      names: [true, true, true, true],
      criticalPath: true,
      outlinedInCriticalColour: ["a", "b", "c"],
      crossedOut: ["lint"],
    });
  });
});

// ---------------------------------------------------------------------------------------

describe("ping", () => {
  test.each([
    { units: 0, steps: [] },
    { units: 1, steps: [["start", "git-clone"]] },
    // A name only depended on is not a unit yet.
    { units: 3, steps: [["start", "git-clone"], ["want", "claude", "git-clone", "install-deps"], ["fail", "docs"]] },
  ])("prints the uptime and $units registered units", async ({ units, steps }) => {
    await using served = await serve();
    for (const step of steps) await served.run(...step);
    expect(await served.run("ping")).toEqual(pinged(served.server.pid, served.socketPath, "from UNITSYNC_SOCKET_PATH", units));
  });
});
