export { COSFORMER_EPS, COSFORMER_WEIGHTS, CosformerAttention, type CosformerConfig } from './cosformer.js';
export { ReformerAttention, type ReformerConfig, TOKEN_SELF_ATTN_VALUE } from './reformer.js';
