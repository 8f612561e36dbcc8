// 16-bit float storage shared by every kernel family (prepended to each family's source by the module
// loader, so NVRTC needs no include path): float16 and bfloat16 held as their bit patterns in an
// unsigned short, widened to float for the math and rounded to nearest even on store (PTX cvt.rn).
// dtype codes of the backend: 0 float32, 1 int32, 2 bool (uint8), 3 float16, 4 bfloat16.
typedef unsigned short u16;
__device__ __forceinline__ float bf2f(u16 h) { return __uint_as_float(((unsigned)h) << 16); }
__device__ __forceinline__ u16 f2bf(float f) {
  u16 r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f));
  return r;
}
__device__ __forceinline__ float h2f(u16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ u16 f2h(float f) {
  u16 r;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(f));
  return r;
}
// A storage type's load (to float) and store (from float): float, __sea_bf16, __sea_f16.
struct sea_bf16 { u16 b; };
struct sea_f16 { u16 b; };
__device__ __forceinline__ float tof(float x) { return x; }
__device__ __forceinline__ float tof(sea_bf16 x) { return bf2f(x.b); }
__device__ __forceinline__ float tof(sea_f16 x) { return h2f(x.b); }
template <typename T> __device__ __forceinline__ T fromf(float x);
template <> __device__ __forceinline__ float fromf<float>(float x) { return x; }
template <> __device__ __forceinline__ sea_bf16 fromf<sea_bf16>(float x) { sea_bf16 r; r.b = f2bf(x); return r; }
template <> __device__ __forceinline__ sea_f16 fromf<sea_f16>(float x) { sea_f16 r; r.b = f2h(x); return r; }
// Vector loads and stores of 2 or 4 consecutive elements as float2/float4 (p aligned to them).
__device__ __forceinline__ float2 ld2(const float *p) { return *(const float2 *)p; }
__device__ __forceinline__ float4 ld4(const float *p) { return *(const float4 *)p; }
__device__ __forceinline__ void st2(float *p, float2 v) { *(float2 *)p = v; }
__device__ __forceinline__ void st4(float *p, float4 v) { *(float4 *)p = v; }
__device__ __forceinline__ float2 ld2(const sea_bf16 *p) {
  unsigned w = *(const unsigned *)p;
  return make_float2(__uint_as_float(w << 16), __uint_as_float(w & 0xffff0000u));
}
__device__ __forceinline__ float4 ld4(const sea_bf16 *p) {
  uint2 w = *(const uint2 *)p;
  return make_float4(__uint_as_float(w.x << 16), __uint_as_float(w.x & 0xffff0000u), __uint_as_float(w.y << 16),
                     __uint_as_float(w.y & 0xffff0000u));
}
__device__ __forceinline__ float2 ld2(const sea_f16 *p) {
  unsigned w = *(const unsigned *)p;
  return make_float2(h2f((u16)(w & 0xffffu)), h2f((u16)(w >> 16)));
}
__device__ __forceinline__ float4 ld4(const sea_f16 *p) {
  uint2 w = *(const uint2 *)p;
  return make_float4(h2f((u16)(w.x & 0xffffu)), h2f((u16)(w.x >> 16)), h2f((u16)(w.y & 0xffffu)), h2f((u16)(w.y >> 16)));
}
template <typename T> __device__ __forceinline__ unsigned pack2(float a, float b) {
  return (unsigned)fromf<T>(a).b | ((unsigned)fromf<T>(b).b << 16);
}
__device__ __forceinline__ void st2(sea_bf16 *p, float2 v) { *(unsigned *)p = pack2<sea_bf16>(v.x, v.y); }
__device__ __forceinline__ void st4(sea_bf16 *p, float4 v) {
  *(uint2 *)p = make_uint2(pack2<sea_bf16>(v.x, v.y), pack2<sea_bf16>(v.z, v.w));
}
__device__ __forceinline__ void st2(sea_f16 *p, float2 v) { *(unsigned *)p = pack2<sea_f16>(v.x, v.y); }
__device__ __forceinline__ void st4(sea_f16 *p, float4 v) {
  *(uint2 *)p = make_uint2(pack2<sea_f16>(v.x, v.y), pack2<sea_f16>(v.z, v.w));
}
// Tensor-core step for 16-bit operands: c (m16n8, fp32) += a (m16k16, row) · b (k16n8, col), the
// fragments in mma.sync's register layout (used by the dense and the cell-mask attention; sm_80+).
template <typename T> struct MmaOp;
template <> struct MmaOp<sea_bf16> {
  static __device__ __forceinline__ void run(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};
template <> struct MmaOp<sea_f16> {
  static __device__ __forceinline__ void run(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};
