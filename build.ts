/**
 * Compiles the unitsync binary: `bun run build.ts [outfile]` writes dist/unitsync for this
 * machine and smoke-runs it, because a broken bundle can still exit 0 from `bun build`.
 * `compile` is also what the benchmark uses for its baseline binaries, so they match.
 */
import { $ } from "bun";

/** Compiles `entrypoint` into a standalone binary with unitsync's flags; throws on any error log. */
export async function compile(entrypoint: string, outfile: string): Promise<void> {
  const result = await Bun.build({
    entrypoints: [entrypoint],
    compile: {
      outfile,
      // unitsync runs inside arbitrary repositories: their .env, bunfig.toml, tsconfig.json
      // and package.json are not ours to load.
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
  if (!result.success || result.logs.some((log) => log.level === "error")) {
    throw new Error(`compiling ${entrypoint} failed:\n${result.logs.join("\n")}`);
  }
}

if (import.meta.main) {
  const outfile = process.argv[2] ?? "dist/unitsync";
  await compile("src/main.ts", outfile);
  const version = (await $`${outfile} --version`.nothrow().quiet()).stdout.toString().trim();
  if (!version.startsWith("unitsync ")) {
    console.error(`built ${outfile} does not run: ${JSON.stringify(version)}`);
    process.exit(1);
  }
  console.error(`built ${outfile} (${version})`);
}
