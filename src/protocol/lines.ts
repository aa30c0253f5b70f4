/** Thrown by `readLines` for a line longer than its limit. */
export class LineTooLong extends Error {
  override readonly name = "LineTooLong";
}

/**
 * The lines of a byte stream as they arrive, without their line ends; the last one even
 * without a newline. A line growing past `maxLength` characters throws `LineTooLong`.
 */
export async function* readLines(stream: ReadableStream<Uint8Array>, maxLength = Infinity): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      if (newline > maxLength) throw new LineTooLong(`a line is longer than ${maxLength} characters`);
      yield buffered.slice(0, newline).replace(/\r$/, "");
      buffered = buffered.slice(newline + 1);
    }
    if (buffered.length > maxLength) throw new LineTooLong(`a line is longer than ${maxLength} characters`);
  }
  buffered += decoder.decode();
  if (buffered !== "") yield buffered;
}
