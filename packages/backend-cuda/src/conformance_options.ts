/**
 * Options of the CUDA conformance run (a @sea/conformance `ConformanceOptions`), shared by the vitest
 * file and the device runner.
 */
export const CUDA_CONFORMANCE_OPTIONS = {
  dtypes: ['float32', 'bfloat16', 'float16'] as const,
  tolerance: {
    scale: {
      conv2d: 10,
      csrSddmm: 10,
      csrSoftmax: 10,
      csrSpmm: 10,
      performerPrefixSum: 50,
      softmax: 4,
      logSoftmax: 4,
      layerNorm: 4,
      matmul: 4,
    },
  },
};
