/**
 * Compiles the unitsync binary: `bun run build.ts` writes dist/unitsync for this machine
 * and smoke-runs it, because a broken bundle can still exit 0 from `bun build`.
 */
import { $ } from "bun";

const outfile = process.argv[2] ?? "dist/unitsync";

const result = await Bun.build({
  entrypoints: ["src/main.ts"],
  compile: {
    outfile,
    // unitsync runs inside arbitrary repositories: their .env and bunfig.toml are not ours to load.
    autoloadDotenv: false,
    autoloadBunfig: false,
    autoloadTsconfig: false,
    autoloadPackageJson: false,
  },
  minify: true,
  bytecode: true,
  format: "esm",
  target: "bun",
});
for (const log of result.logs) console.error(log);
if (!result.success || result.logs.some((log) => log.level === "error")) {
  console.error("build failed");
  process.exit(1);
}

const version = (await $`${outfile} --version`.nothrow().quiet()).stdout.toString().trim();
if (!version.startsWith("unitsync ")) {
  console.error(`built ${outfile} does not run: ${JSON.stringify(version)}`);
  process.exit(1);
}
console.error(`built ${outfile} (${version})`);
