/** The tracker contract suite, as adapter authors import it from `modelship/testing`. */
export { testTracker, type TrackerHarness, type StoredRunView } from '../../src/testing/tracker-contract.js';
