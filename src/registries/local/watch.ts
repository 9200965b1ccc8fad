/** The local registry's watch is the shared polling loop; these names are kept for its public types. */
export { pollRef, type LocalWatchOptions, type PollWatchOptions } from '../kit/poll-ref.js';
