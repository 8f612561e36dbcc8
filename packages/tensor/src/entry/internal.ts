/**
 * `@sea/tensor/internal`: the op tape that `@sea/train` records gradients with. Unstable: its
 * names and shapes change with the training code, without notice and outside semantic
 * versioning. Programs use `@sea/train`'s gradient API instead.
 *
 * @module @sea/tensor/internal
 */
export { isRecording, recordOp, setTape, type TapeListener, type TapeRecord } from '../engine.js';
