// Docker's multiplexed stream (attach and exec without a TTY): frames of an 8-byte header
// [stream, 0, 0, 0, size uint32 BE] followed by `size` payload bytes, cut into HTTP chunks
// anywhere. The engine writes one frame per write of the container, so a GiB printed line
// by line is millions of short frames; a yield (or a Buffer) per frame would dominate, so
// instead each chunk's payload bytes are compacted in place over the headers and yielded
// as one run per stream.

export const STDOUT = 1;
export const STDERR = 2;

export interface StreamOutput {
  /** 0 stdin (never sent here), 1 stdout, 2 stderr. */
  stream: number;
  /** Payload bytes; a frame split across chunks arrives in several pieces. */
  data: Buffer;
}

const HEADER = 8;

/**
 * Demultiplexes a response body. Takes ownership of the chunks: payload bytes are moved
 * within each chunk (they are never read by anyone else once handed over). The yielded
 * slices live as long as their chunk: a source that reuses its buffer (the attach stream)
 * overwrites them once the next chunk is asked for.
 */
export async function* demux(chunks: AsyncIterable<Buffer>): AsyncGenerator<StreamOutput> {
  const header = Buffer.alloc(HEADER);
  let headerFill = 0;
  let stream = STDOUT;
  let remaining = 0; // payload bytes of the current frame not seen yet

  for await (const chunk of chunks) {
    let read = 0;
    let write = 0; // payload compacted so far: chunk[runStart, write) belongs to runStream
    let runStart = 0;
    let runStream = -1;
    while (read < chunk.length) {
      if (remaining === 0) {
        if (headerFill === 0 && chunk.length - read >= HEADER) {
          stream = chunk[read];
          remaining = chunk.readUInt32BE(read + 4);
          read += HEADER;
        } else {
          // A header split across chunks: gather its bytes.
          const n = Math.min(HEADER - headerFill, chunk.length - read);
          chunk.copy(header, headerFill, read, read + n);
          headerFill += n;
          read += n;
          if (headerFill === HEADER) {
            stream = header[0];
            remaining = header.readUInt32BE(4);
            headerFill = 0;
          }
        }
        continue;
      }
      if (stream !== runStream) {
        if (write > runStart) yield { stream: runStream, data: chunk.subarray(runStart, write) };
        runStart = write;
        runStream = stream;
      }
      const n = Math.min(remaining, chunk.length - read);
      if (write !== read) chunk.copyWithin(write, read, read + n);
      write += n;
      read += n;
      remaining -= n;
    }
    if (write > runStart) yield { stream: runStream, data: chunk.subarray(runStart, write) };
  }
}

const NEWLINE = 0x0a;
/** An unfinished line longer than this is passed on as it is (the LogSink bounds it too). */
const MAX_PARTIAL = 64 * 1024;

/**
 * Both streams as one, meeting only at line ends. The engine frames each write of the
 * container, not each line, so a stderr write could otherwise land inside a half-written
 * stdout line; here each stream's unfinished line waits for its end (or MAX_PARTIAL).
 */
export async function* wholeLines(outputs: AsyncIterable<StreamOutput>): AsyncGenerator<Buffer> {
  const partial = new Map<number, Buffer>();
  for await (const { stream, data } of outputs) {
    let from = 0;
    const held = partial.get(stream);
    if (held) {
      const newline = data.indexOf(NEWLINE);
      from = newline === -1 ? data.length : newline + 1;
      const line = Buffer.concat([held, data.subarray(0, from)]);
      partial.delete(stream);
      if (newline === -1 && line.length <= MAX_PARTIAL) {
        partial.set(stream, line);
        continue;
      }
      yield line;
    }
    const end = Math.max(from, data.lastIndexOf(NEWLINE) + 1);
    if (end > from) yield data.subarray(from, end);
    if (end === data.length) continue;
    if (data.length - end > MAX_PARTIAL) yield data.subarray(end);
    else partial.set(stream, Buffer.from(data.subarray(end))); // a copy: the chunk's buffer may be reused
  }
  for (const held of partial.values()) yield held;
}
