import { type Backend, gelu, resize, tensor } from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import type { SuiteContext } from '../suite.js';

/**
 * Values published by others, independent of the suite's own float64 definitions: PyTorch's
 * `F.interpolate` outputs on a 2×2 and a 1×5 image, and GELU x·Φ(x) from the tabulated standard
 * normal CDF.
 */
export function registerPublished(s: SuiteContext): void {
  s.group('resize', 'resize (PyTorch F.interpolate values)', (test) => {
    for (const dtype of s.floatDTypes) {
      const image = (backend: Backend) => tensor([1, 2, 3, 4], [1, 1, 2, 2], { backend, dtype });
      test(`bilinear 2×2 → 4×4, align_corners=False ${dtype}`, async ({ backend, tol }) => {
        const out = resize(image(backend), [4, 4], 'bilinear');
        const want = [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4];
        assertClose(
          await values(out, [1, 1, 4, 4], dtype, 'bilinear'),
          want,
          tol(dtype, 'resize'),
          'bilinear',
        );
      });
      test(`bilinear 2×2 → 3×3, align_corners=True ${dtype}`, async ({ backend, tol }) => {
        const out = resize(image(backend), [3, 3], 'bilinear', { alignCorners: true });
        const want = [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4];
        assertClose(await values(out, [1, 1, 3, 3], dtype, 'bilinear ac'), want, tol(dtype, 'resize'), 'ac');
      });
      test(`nearest and area 1×5 → 1×3 ${dtype}`, async ({ backend, tol }) => {
        const row = tensor([0, 1, 2, 3, 4], [1, 1, 1, 5], { backend, dtype });
        assertEqual(
          await values(resize(row, [1, 3], 'nearest'), [1, 1, 1, 3], dtype, 'nearest'),
          [0, 1, 3],
          'nearest',
        );
        // adaptive average windows [0,2) [1,4) [3,5)
        const area = await values(resize(row, [1, 3], 'area'), [1, 1, 1, 3], dtype, 'area');
        assertClose(area, [0.5, 2, 3.5], tol(dtype, 'resize'), 'area');
      });
    }
  });

  s.group('unary', 'unary (published values)', (test) => {
    for (const dtype of s.floatDTypes) {
      test(`gelu(x) = x·Φ(x) with Φ from the normal table ${dtype}`, async ({ backend, tol }) => {
        // Φ(−3), Φ(−1), Φ(1), Φ(3) to 16 digits (Abramowitz & Stegun 26.2, or scipy.stats.norm.cdf)
        const want = [
          -3 * 0.0013498980316301,
          -0.15865525393145707,
          0,
          0.8413447460685429,
          3 * 0.9986501019683699,
        ];
        const out = gelu(tensor([-3, -1, 0, 1, 3], [5], { backend, dtype }));
        assertClose(await values(out, [5], dtype, 'gelu'), want, tol(dtype, 'unary', 2), 'gelu');
      });
    }
  });
}
