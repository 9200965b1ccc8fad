/** The registry contract suite, as adapter authors import it from `modelship/testing`. */
export { testRegistry, type RegistryFixture } from '../../src/testing/registry-contract.js';
