// The layer rules of the README's layout, checked on every import in src/: a layer imports
// only the layers below it, and nothing imports the CLI.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dir, "..", "src");

const MAY_IMPORT: Record<string, readonly string[]> = {
  graph: [],
  protocol: ["graph"],
  server: ["graph", "protocol"],
  client: ["protocol"],
  render: ["protocol"],
  probe: ["protocol", "render"],
  supervisor: ["server", "client", "protocol", "render"],
  cli: ["graph", "protocol", "server", "client", "render", "probe", "supervisor"],
};

test("every import in src/ follows the layer rules", () => {
  const broken: string[] = [];
  for (const file of readdirSync(SRC, { recursive: true }) as string[]) {
    if (!file.endsWith(".ts")) continue;
    const layer = file.includes("/") ? file.split("/")[0]! : "main";
    const source = readFileSync(join(SRC, file), "utf8");
    for (const [, specifier] of source.matchAll(/(?:from|import\()\s*"(\.[^"]+\.ts)"/g)) {
      const target = relative(SRC, normalize(join(SRC, dirname(file), specifier!)));
      const targetLayer = target.includes("/") ? target.split("/")[0]! : "main";
      const allowed = layer === "main" ? targetLayer === "cli" || targetLayer === "protocol" : targetLayer === layer || MAY_IMPORT[layer]!.includes(targetLayer);
      if (!allowed) broken.push(`${file} imports ${target}`);
    }
  }
  expect(broken).toEqual([]);
});
