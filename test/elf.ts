// Reads what a release binary asks of the system that runs it, straight from its ELF headers:
// the machine, the program interpreter (dynamic loader) and the shared libraries it needs.
// Only 64-bit little-endian files, which is every Linux target unitsync ships.

export interface ElfFacts {
  machine: string;
  interpreter: string | undefined;
  needed: string[];
}

const MACHINES: Record<number, string> = { 62: "x86-64", 183: "aarch64" };
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

export async function readElf(path: string): Promise<ElfFacts> {
  const file = Bun.file(path);
  const read = async (offset: number, length: number) =>
    new DataView(await file.slice(offset, offset + length).arrayBuffer());

  const header = await read(0, 64);
  const magic = header.getUint32(0, false);
  if (magic !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
  if (header.getUint8(4) !== 2 || header.getUint8(5) !== 1) throw new Error(`${path} is not 64-bit little-endian`);
  const machineCode = header.getUint16(18, true);
  const programHeaders = Number(header.getBigUint64(32, true));
  const entrySize = header.getUint16(54, true);
  const count = header.getUint16(56, true);

  const table = await read(programHeaders, entrySize * count);
  const segments = Array.from({ length: count }, (_, i) => {
    const at = i * entrySize;
    return {
      type: table.getUint32(at, true),
      offset: Number(table.getBigUint64(at + 8, true)),
      address: Number(table.getBigUint64(at + 16, true)),
      size: Number(table.getBigUint64(at + 32, true)),
    };
  });
  const fileOffset = (address: number) => {
    const load = segments.find((s) => s.type === PT_LOAD && s.address <= address && address < s.address + s.size);
    if (!load) throw new Error(`${path}: address ${address} is in no loaded segment`);
    return address - load.address + load.offset;
  };
  const text = async (offset: number, max = 4096) => {
    const bytes = new Uint8Array(await file.slice(offset, offset + max).arrayBuffer());
    return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
  };

  const interp = segments.find((s) => s.type === PT_INTERP);
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  const needed: string[] = [];
  if (dynamic) {
    const entries = await read(dynamic.offset, dynamic.size);
    const neededOffsets: bigint[] = [];
    let strings = 0;
    for (let at = 0; at + 16 <= dynamic.size; at += 16) {
      const tag = entries.getBigInt64(at, true);
      const value = entries.getBigUint64(at + 8, true);
      if (tag === 0n) break;
      if (tag === DT_NEEDED) neededOffsets.push(value);
      if (tag === DT_STRTAB) strings = fileOffset(Number(value));
    }
    for (const offset of neededOffsets) needed.push(await text(strings + Number(offset), 256));
  }
  return {
    machine: MACHINES[machineCode] ?? `machine ${machineCode}`,
    interpreter: interp ? await text(interp.offset, interp.size) : undefined,
    needed,
  };
}
