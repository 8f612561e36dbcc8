/**
 * The CPU backend: buffers are typed arrays in host memory (`CpuMemory`); each primitive is one
 * file under `kernels/`, bound through the kernel table below. It is the oracle the GPU backends
 * are tested against, and the default backend.
 *
 * float16 and bfloat16 by conversion (`kernels/half.ts`): every kernel computes in float64 and
 * rounds each output once to the inputs' 16-bit dtype. Such a buffer takes 8 bytes per element here.
 */
import { type Backend, bytesPerElement } from '@sea/tensor';
import { defineBackend, type KernelTable } from '@sea/tensor/backend';
import { adamw } from './kernels/adamw.js';
import { attention } from './kernels/attention.js';
import { binary } from './kernels/binary.js';
import { concat } from './kernels/concat.js';
import { conv2d } from './kernels/conv2d.js';
import { csrSddmm } from './kernels/csr_sddmm.js';
import { csrSoftmax } from './kernels/csr_softmax.js';
import { csrSpmm } from './kernels/csr_spmm.js';
import { cumsum } from './kernels/cumsum.js';
import { causalCnnStep, performerStep, seaDecodeAttention, seaEncoderStep } from './kernels/decode_step.js';
import { gather, takeAlong } from './kernels/gather.js';
import { groupedTopK } from './kernels/grouped_topk.js';
import { cast, fill, viaFloat64 } from './kernels/half.js';
import { layerNorm } from './kernels/layer_norm.js';
import { matmul } from './kernels/matmul.js';
import { pad } from './kernels/pad.js';
import { performerPrefixSum } from './kernels/performer_prefix_sum.js';
import { range } from './kernels/range.js';
import { reduce } from './kernels/reduce.js';
import { resize } from './kernels/resize.js';
import { runningMeanMix } from './kernels/running_mean_mix.js';
import { slice } from './kernels/slice.js';
import { logSoftmax, softmax } from './kernels/softmax.js';
import { stretchToCsr } from './kernels/stretch_to_csr.js';
import { transpose } from './kernels/transpose.js';
import { unary } from './kernels/unary.js';
import { where } from './kernels/where.js';
import { CpuMemory } from './memory.js';

export { type CpuBackendOptions, type CpuData, CpuMemory } from './memory.js';

/** One kernel per primitive (a missing one is a compile error), the fused attention and the fused AdamW update. */
const CPU_KERNELS = {
  ...viaFloat64({
    matmul,
    unary,
    binary,
    where,
    reduce,
    softmax,
    logSoftmax,
    layerNorm,
    gather,
    takeAlong,
    conv2d,
    cumsum,
    resize,
    transpose,
    slice,
    concat,
    pad,
    performerPrefixSum,
    runningMeanMix,
    groupedTopK,
    stretchToCsr,
    csrSddmm,
    csrSoftmax,
    csrSpmm,
    attention,
  }),
  cast,
  fill,
  range,
  adamw,
  performerStep,
  causalCnnStep,
  seaEncoderStep,
  seaDecodeAttention,
} satisfies KernelTable<CpuBackend>;

export class CpuBackend extends defineBackend(CpuMemory, CPU_KERNELS) implements Backend {}

export { bytesPerElement };
