#!/usr/bin/python3
"""Writes the .npz fixtures of tensorio/weights_test.go with numpy.

Run from this directory: /usr/bin/python3 make_weights.py (Debian's
python3-numpy; any numpy >= 1.17 writes the same files). The tests compute
the same values in Go, so the formulas here and there must agree.

  numpy_weights.npz             np.savez of one array per dtype, with a
                                scalar, Fortran-ordered and big-endian arrays
  numpy_weights_compressed.npz  the same arrays through np.savez_compressed
  numpy_bad.npz                 arrays with every kind of mistake a
                                network's weights file can have
"""
import numpy as np


def ramp(shape, dtype, scale=1, offset=0):
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.int64) * scale + offset).reshape(shape).astype(dtype)


good = {
    "u8": ramp((3, 3, 1, 2, 4), np.uint8, 7),  # wraps modulo 256
    "i8": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
    "i16": ramp((4, 5), np.int16, 1000, -9000),
    "i32": ramp((2, 3, 4), np.int32, 100003, -1000000),
    "u64": np.array([[0, 1], [2**63, 2**64 - 1]], dtype=np.uint64),
    "f32": (np.arange(10, dtype=np.float32) * 0.25 - 1.5).reshape(2, 5),
    "f64": np.array([0.1, -2.5, 1e300], dtype=np.float64),
    "flags": np.array([[True, False, True], [False, False, True]]),
    "scalar": np.float32(3.5),
    # element [i, j] is i*4 + j, stored column by column
    "fortran": np.asfortranarray(ramp((3, 4), np.float32)),
    "fortran3": np.asfortranarray(ramp((2, 3, 4), np.int16, 1, -5)),
    "big_i32": ramp((2, 3), ">i4", 1000000, -3),
    "big_f64": np.array([1.5, -0.125, 1e-300, 6.02e23], dtype=">f8"),
}
assert not good["fortran"].flags["C_CONTIGUOUS"]

# TestNumpyLoadsSavedWeights imports `good` from here without writing files.
if __name__ == "__main__":
    np.savez("numpy_weights.npz", **good)
    np.savez_compressed("numpy_weights_compressed.npz", **good)

    # The network (weights_test.go: badSpecs) wants b1_W1 uint8
    # (3, 3, 1, 8, 2), b1_W2 uint8 (3, 3, 8, 8, 2), fc_W float32 (16, 10),
    # fc_b float32 (10,), bn_scale float32 (8,).
    np.savez(
        "numpy_bad.npz",
        b1_w1=np.zeros((3, 3, 1, 8, 2), np.uint8),  # misspelled: b1_W1
        b1_W2=np.zeros((3, 3, 8, 2, 8), np.uint8),  # wrong shape
        fc_W=np.zeros((16, 10), np.float64),  # wrong dtype
        fc_b=np.zeros((10,), np.float16),  # a dtype Tide lacks
        # bn_scale missing
        running_mean=np.zeros((8,), np.float32),  # not used by the network
    )
