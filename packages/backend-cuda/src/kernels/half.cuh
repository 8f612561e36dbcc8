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
