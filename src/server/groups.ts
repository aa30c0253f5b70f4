import { UnitsyncError } from "../protocol/index.ts";

/**
 * The group id for `serve --group NAME`: a name from /etc/group, or a number. The server
 * must belong to the group (or be root) to hand its socket to it, so that is checked here,
 * where the error can still name the group as the user wrote it.
 */
export async function groupId(group: string): Promise<number> {
  const gid = /^\d+$/.test(group) ? Number(group) : await lookUp(group);
  const uid = process.getuid?.() ?? -1;
  const mine = [process.getgid?.(), ...(process.getgroups?.() ?? [])];
  if (uid !== 0 && !mine.includes(gid)) {
    throw new UnitsyncError(
      "usage",
      `you are not a member of group ${JSON.stringify(group)}; the server can only share its socket with a group it belongs to`,
    );
  }
  return gid;
}

async function lookUp(name: string): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const table = await readFile("/etc/group", "utf8").catch(() => "");
  for (const line of table.split("\n")) {
    const [entry, , gid] = line.split(":");
    if (entry === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new UnitsyncError("usage", `no group named ${JSON.stringify(name)} in /etc/group; give a group name or number`);
}
