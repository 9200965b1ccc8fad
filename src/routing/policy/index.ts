export { hash53, seededRandom, unitHash } from './hash.js';
export { pickByKey, pickByWeight, type WeightedTarget } from './weighted-choice.js';
export { quantile, SlidingWindow, type WindowStats } from './sliding-window.js';
export { agrees, type AgreementRule, type OutputMap } from './agreement.js';
export { signatureIncompatibilities } from './signature-compat.js';
export { checkGuardrails, type GuardrailBreach, type GuardrailLimits } from './guardrail-check.js';
