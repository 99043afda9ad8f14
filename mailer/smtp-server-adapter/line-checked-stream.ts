// The MX's command parser: smtp-server's own (SMTPStream), fed one complete command line at a
// time, so that each line can be judged whole before it runs (an AdaptedConnection with an
// onLineProblem hook parses with this). smtp-server splits commands on a
// bare LF as well as on CRLF, takes NUL bytes as command text and answers an over-long line by
// dropping the connection; here such lines get a clear 500 5.5.2 and the session goes on.
// In DATA mode the bytes go to SMTPStream untouched.
//
// smtp-server internals relied upon (test/integration/smtp-server-contract.test.ts): SMTPStream's
// _write takes any run of bytes, including one command line, and _dataMode and isClosed say
// whether it is in DATA mode and whether it has stopped parsing.
import { SMTPStream } from "smtp-server/lib/smtp-stream.js";

export type LineProblem = "too-long" | "bare-newline" | "nul";

/** RFC 5321 §4.5.3.1.4 allows 512 octets and lets extensions raise it; SIZE, BODY and SMTPUTF8 parameters fit easily in this. */
const MAX_COMMAND_LINE = 1000;

/** Commands run back to back before giving other sessions a turn (SMTPStream uses the same figure). */
const MAX_SYNC_COMMANDS = 100;

export class LineCheckedStream extends SMTPStream {
  /** called, in order with the commands, for a line that must not run; `done` resumes parsing */
  onlineproblem: (problem: LineProblem, done: () => void) => void = (_problem, done) => done();

  private partial: Buffer[] = [];
  private partialLength = 0;
  private overlong = false;

  _write(chunk: Buffer, encoding: BufferEncoding | "buffer", next: (err?: Error | null) => void): void {
    let offset = 0;
    const step = (): void => {
      for (let handled = 0; ; handled++) {
        // like SMTPStream, yield now and then, so that one client's pipelined burst cannot starve the others
        if (handled === MAX_SYNC_COMMANDS) return void setImmediate(step);
        if (this.isClosed) return next();
        if (this._dataMode) {
          return offset < chunk.length ? super._write(chunk.subarray(offset), encoding, next) : next();
        }
        if (offset >= chunk.length) return next();
        const lf = chunk.indexOf(0x0a, offset);
        if (lf < 0) {
          this.keep(chunk.subarray(offset));
          return next();
        }
        const line = this.complete(chunk.subarray(offset, lf + 1));
        offset = lf + 1;
        // Handlers may call back synchronously (NOOP, RSET …): loop rather than recurse then,
        // so that a chunk full of pipelined commands cannot exhaust the stack.
        let sync = true;
        let finishedSync = false;
        const after = (err?: Error | null) => {
          if (err) return next(err);
          if (sync) finishedSync = true;
          else step();
        };
        const problem = line === null ? "too-long" : lineProblem(line);
        if (problem) this.onlineproblem(problem, after);
        else super._write(line as Buffer, encoding, after);
        sync = false;
        if (!finishedSync) return;
      }
    };
    step();
  }

  /** Buffers the start of a line; past the limit the rest of the line is discarded. */
  private keep(piece: Buffer): void {
    if (this.overlong) return;
    this.partial.push(piece);
    this.partialLength += piece.length;
    if (this.partialLength > MAX_COMMAND_LINE) {
      this.partial = [];
      this.partialLength = 0;
      this.overlong = true;
    }
  }

  /** The whole line ending in `tail` (which ends with LF), or null when it was too long. */
  private complete(tail: Buffer): Buffer | null {
    const overlong = this.overlong || this.partialLength + tail.length > MAX_COMMAND_LINE;
    const line = this.partial.length ? Buffer.concat([...this.partial, tail]) : tail;
    this.partial = [];
    this.partialLength = 0;
    this.overlong = false;
    return overlong ? null : line;
  }
}

/** RFC 5321 §2.3.8: a line ends with CRLF, and CR and LF appear nowhere else. */
function lineProblem(line: Buffer): LineProblem | null {
  const end = line.length - 2;
  if (end < 0 || line[end] !== 0x0d) return "bare-newline";
  const cr = line.indexOf(0x0d);
  if (cr !== end) return "bare-newline";
  if (line.indexOf(0x00) >= 0) return "nul";
  return null;
}
