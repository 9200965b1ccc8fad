/**
 * Download progress: a cli-progress bar (bytes, rate, ETA) on a terminal; plain lines at each quarter when the
 * output is a pipe or a CI log, where a redrawn bar would be noise.
 */
import cliProgress from 'cli-progress';
import type { DownloadProgress } from '../index.node.js';

/** Something that shows download progress. */
export interface Progress {
  update(progress: DownloadProgress): void;
  stop(): void;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes for people: `12.3 MiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

function plainLines(stream: NodeJS.WriteStream): Progress {
  const started = performance.now();
  let nextQuarter = 0;
  let last: DownloadProgress | undefined;
  const line = (p: DownloadProgress): void => {
    const seconds = Math.max((performance.now() - started) / 1000, 0.001);
    const rate = p.loaded / seconds;
    const of = p.total === undefined ? '' : ` of ${formatBytes(p.total)} (${Math.floor((p.loaded / p.total) * 100)}%)`;
    const eta = p.total === undefined || rate === 0 ? '' : `, ETA ${Math.ceil((p.total - p.loaded) / rate)}s`;
    stream.write(`downloading ${p.url}: ${formatBytes(p.loaded)}${of}, ${formatBytes(rate)}/s${eta}\n`);
  };
  return {
    update(p) {
      last = p;
      const quarter = p.total === undefined || p.total === 0 ? 0 : Math.floor((p.loaded / p.total) * 4);
      if (quarter >= nextQuarter) {
        line(p);
        nextQuarter = quarter + 1;
      }
    },
    stop() {
      if (last !== undefined && nextQuarter <= 4) line(last);
    },
  };
}

function bar(stream: NodeJS.WriteStream): Progress {
  let b: cliProgress.SingleBar | undefined;
  const started = Date.now();
  return {
    update(p) {
      if (b === undefined) {
        b = new cliProgress.SingleBar(
          {
            stream,
            format: '{bar} {percentage}% | {done} of {size} | {speed}/s | ETA {eta_formatted}',
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        b.start(p.total ?? 0, 0, { done: '0 B', size: '?', speed: '0 B' });
      }
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      if (p.total !== undefined) b.setTotal(p.total);
      b.update(p.loaded, {
        done: formatBytes(p.loaded),
        size: p.total === undefined ? '?' : formatBytes(p.total),
        speed: formatBytes(p.loaded / seconds),
      });
    },
    stop() {
      b?.stop();
    },
  };
}

/** A progress display on `stream` (a bar on a terminal, else plain lines). */
export function createProgress(stream: NodeJS.WriteStream): Progress {
  return stream.isTTY === true ? bar(stream) : plainLines(stream);
}
