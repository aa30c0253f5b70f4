// The floor for a client command: a compiled binary that makes one request over the
// socket and exits, with no argument parsing, no modules of ours and no output.
const response = await fetch("http://unitsync/v1/ping", { unix: process.env.UNITSYNC_SOCKET_PATH });
await response.json();
process.exit(response.ok ? 0 : 1);
export {};
