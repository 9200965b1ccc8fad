/** The Open Inference Protocol codec lives in core so remote deployment versions (routing/) can use it too. */
export { decodeOipInputs, encodeOipOutput, toOipDatatype, toOipTensorMetadata } from '../core/oip-codec.js';
