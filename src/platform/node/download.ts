import type { DownloadProgress } from '../../spec/registry.js';

export type { DownloadProgress };

/** Options for downloading one object into a file. */
export interface DownloadOptions {
  readonly signal?: AbortSignal;
  /** Refuse (DOWNLOAD_TOO_LARGE) anything larger: from its announced size before downloading, else while streaming. */
  readonly maxBytes: number;
  /** Receives the URL without its query string, and the bytes written so far. */
  readonly onProgress?: (progress: DownloadProgress) => void;
}

/** What a finished download wrote. */
export interface DownloadResult {
  readonly size: number;
}

/** Downloads `url` into the file `dest` (created or overwritten) and fsyncs it. */
export type Downloader = (url: string, dest: string, options: DownloadOptions) => Promise<DownloadResult>;
