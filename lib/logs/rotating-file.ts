import { open, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/** Options of {@link RotatingFile}. */
export interface RotatingFileOptions {
  path: string;
  /** Size a file may reach before the next line goes to a fresh one. */
  maxBytes: number;
  /** Rotated files kept: `path.1` (the newest) to `path.<maxFiles>` (the oldest). */
  maxFiles: number;
  /** Mode of a created file. */
  mode: number;
}

/** How much of one {@link RotatingFile.append} reached the file. */
export interface AppendResult {
  /** Lines written, from the first. */
  written: number;
  /** Why the others were not. */
  error?: Error;
}

/**
 * A file appended to in batches and rotated by size, numbered as logrotate numbers files: when
 * the next line would take `path` past `maxBytes`, `path.<n>` becomes `path.<n+1>` (the oldest,
 * `path.<maxFiles>`, is overwritten), `path` becomes `path.1`, and a new `path` is started. A
 * single line longer than `maxBytes` gets a file of its own. So the files never hold more than
 * `(maxFiles + 1) × maxBytes` bytes, give or take one oversized line.
 *
 * Each call writes whole lines, with one write per file it touches. After a failure the file is
 * reopened on the next call (a deleted directory recreated, a full disk freed up). One writer
 * per path: two processes rotating the same file would rename each other's files.
 */
export class RotatingFile {
  readonly #options: RotatingFileOptions;
  #handle: FileHandle | undefined;
  #size = 0;

  constructor(options: RotatingFileOptions) {
    this.#options = options;
  }

  /** Appends `lines` (each ending with `\n`; `bytes[i]` is the UTF-8 length of `lines[i]`). */
  async append(lines: readonly string[], bytes: readonly number[]): Promise<AppendResult> {
    const { maxBytes } = this.#options;
    let written = 0;
    try {
      while (written < lines.length) {
        const handle = await this.#open();
        if (this.#size > 0 && this.#size + bytes[written]! > maxBytes) {
          await this.#rotate();
          continue;
        }
        let end = written;
        let segmentBytes = 0;
        do {
          segmentBytes += bytes[end]!;
          end += 1;
        } while (end < lines.length && this.#size + segmentBytes + bytes[end]! <= maxBytes);
        await handle.appendFile(lines.slice(written, end).join(''));
        this.#size += segmentBytes;
        written = end;
      }
      return { written };
    } catch (err) {
      await this.close();
      return { written, error: err instanceof Error ? err : new Error(String(err)) };
    }
  }

  /** Closes the file (reopened by the next append). Never throws. */
  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle) return this.#handle;
    const handle = await open(this.#options.path, 'a', this.#options.mode);
    try {
      this.#size = (await handle.stat()).size;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    this.#handle = handle;
    return handle;
  }

  async #rotate(): Promise<void> {
    const { path, maxFiles } = this.#options;
    await this.close();
    for (let n = maxFiles - 1; n >= 1; n--) {
      await renameIfExists(`${path}.${n}`, `${path}.${n + 1}`);
    }
    await renameIfExists(path, `${path}.1`);
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
