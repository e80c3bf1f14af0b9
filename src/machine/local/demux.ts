// Docker's multiplexed stream (logs and exec without a TTY): frames of an 8-byte header
// [stream, 0, 0, 0, size uint32 BE] followed by `size` payload bytes, cut into HTTP chunks
// anywhere. The engine writes one frame per log line, so at ~1 GiB of short lines a
// yield (or a Buffer) per frame would dominate; instead each chunk's payload bytes are
// compacted in place over the headers and yielded as one run per stream.

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
 * within each chunk (they are never read by anyone else once handed over), and the
 * yielded slices are never written again, so consumers may keep them.
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
