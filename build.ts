/**
 * Compiles the unitsync binary.
 *
 *   bun run build.ts [outfile]     dist/unitsync for this machine, smoke-run
 *   bun run build.ts --release     the same, plus dist/release/: one binary per Linux image
 *                                  kind (x64/arm64, glibc/musl) and SHA256SUMS
 *
 * A broken bundle can still exit 0 from `bun build`, so the host binary is always run once.
 * Bun fetches the cross-compilation runtimes from the npm registry; nothing else is downloaded.
 * `compile` is also what the benchmarks use for their baseline binaries, so they match.
 */
import { $ } from "bun";
import { basename, join } from "node:path";
import { mkdir, rm } from "node:fs/promises";
import packageJson from "./package.json" with { type: "json" };

/** The CLI's entry point, wherever the build is run from. */
const ENTRY = join(import.meta.dir, "src", "main.ts");

/** A release binary: the file name users download and the Bun runtime it is built on. */
export interface ReleaseTarget {
  file: string;
  target: Bun.Build.CompileTarget;
  /** ELF e_machine of the binary, as the release test checks it. */
  machine: "x86-64" | "aarch64";
  /** The program interpreter (dynamic loader) the binary asks for: what the image must have. */
  interpreter: string;
}

/** Debian/Ubuntu/Fedora-style images use glibc; Alpine uses musl. The names follow Bun's targets. */
export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { file: "unitsync-linux-x64", target: "bun-linux-x64", machine: "x86-64", interpreter: "/lib64/ld-linux-x86-64.so.2" },
  { file: "unitsync-linux-arm64", target: "bun-linux-arm64", machine: "aarch64", interpreter: "/lib/ld-linux-aarch64.so.1" },
  { file: "unitsync-linux-x64-musl", target: "bun-linux-x64-musl", machine: "x86-64", interpreter: "/lib/ld-musl-x86_64.so.1" },
  { file: "unitsync-linux-arm64-musl", target: "bun-linux-arm64-musl", machine: "aarch64", interpreter: "/lib/ld-musl-aarch64.so.1" },
];

/**
 * Compiles `entrypoint` into a standalone binary with unitsync's flags (for `target`, or this
 * machine); throws on any error log. The flags were chosen by `npm run bench:flags`: bytecode
 * with ESM and minification starts fastest (README, "Compile flags").
 */
export async function compile(entrypoint: string, outfile: string, target?: Bun.Build.CompileTarget): Promise<void> {
  const result = await Bun.build({
    entrypoints: [entrypoint],
    compile: {
      outfile,
      ...(target ? { target } : {}),
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
    // One chunk per lazily loaded command: a client command loads its own code and not the
    // server's, the supervisor's or citty's (a single 200-KB bundle cost every run 2 to 3 ms).
    splitting: true,
    // Fewer, larger chunks where that loads nothing more: each module costs its own start-up.
    minChunkSize: 16_384,
    target: "bun",
  });
  if (!result.success || result.logs.some((log) => log.level === "error")) {
    throw new Error(`compiling ${entrypoint}${target ? ` for ${target}` : ""} failed:\n${result.logs.join("\n")}`);
  }
}

/** Compiles this machine's binary to `outfile` and checks that it runs; returns its version line. */
export async function buildHost(outfile = "dist/unitsync"): Promise<string> {
  await compile(ENTRY, outfile);
  const version = (await $`${outfile} --version`.nothrow().quiet()).stdout.toString().trim();
  if (version !== `unitsync ${packageJson.version}`) {
    throw new Error(`built ${outfile} does not run: ${JSON.stringify(version)}`);
  }
  return version;
}

/**
 * Compiles every release target into `directory` (emptied first) and writes `SHA256SUMS`
 * there in the format `sha256sum -c` reads. Returns the binaries' paths.
 */
export async function buildRelease(directory = "dist/release"): Promise<string[]> {
  await rm(directory, { recursive: true, force: true });
  await mkdir(directory, { recursive: true });
  const files: string[] = [];
  // One at a time: each cross compile holds a ~100 MB runtime in memory.
  for (const { file, target } of RELEASE_TARGETS) {
    const outfile = join(directory, file);
    await compile(ENTRY, outfile, target);
    files.push(outfile);
  }
  const sums = await Promise.all(files.map(async (file) => `${await sha256(file)}  ${basename(file)}\n`));
  await Bun.write(join(directory, "SHA256SUMS"), sums.join(""));
  return files;
}

/** The SHA-256 of a file, in hex, read in chunks (the binaries are about 100 MB). */
export async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const release = args.includes("--release");
  const outfile = args.find((arg) => !arg.startsWith("--")) ?? "dist/unitsync";
  try {
    const version = await buildHost(outfile);
    console.error(`built ${outfile} (${version})`);
    if (release) {
      const started = performance.now();
      const files = await buildRelease();
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`built ${files.length} release binaries and SHA256SUMS in dist/release/ (${seconds} s)`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
