"""Random numbers inside numba kernels: xoshiro256** bits, uniforms and a ziggurat normal.

The stream is seeded from the tile's numpy Generator at each kernel call (``seed_state``), so
every result stays reproducible from the tile's seed. Inside a kernel a 64-bit draw costs about
1 ns and a normal about 3 ns, against 5 and 4 ns through numba's own Generator support
(measured on this machine); the pulsed update draws millions of both per second.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit

_U64 = numba.uint64
_ONE = np.uint64(1)


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U64(k)) | (x >> _U64(64 - k))


@njit(cache=True, inline="always")
def next_u64(s):
    """xoshiro256** (Blackman & Vigna): next 64 random bits; ``s`` is its uint64[4] state."""
    result = _rotl(s[1] * _U64(5), 7) * _U64(9)
    t = s[1] << _U64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables of the 256-layer ziggurat for N(0, 1) on 52-bit integers (Marsaglia & Tsang 2000;
    r and v as in numpy's distributions.c)."""
    r, v, m = 3.6541528853610088, 0.00492867323399, 2.0**52
    ki = np.zeros(256, dtype=np.uint64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    q = v / math.exp(-0.5 * r * r)
    ki[0] = np.uint64((r / q) * m)
    wi[0], wi[255] = q / m, r / m
    fi[0], fi[255] = 1.0, math.exp(-0.5 * r * r)
    dn = tn = r
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64((dn / tn) * m)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m
    return ki, wi, fi


_ZIG_K, _ZIG_W, _ZIG_F = _ziggurat_tables()
_ZIG_R = 3.6541528853610088
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_BYTE = np.uint64(0xFF)


@njit(cache=True, inline="always")
def uniform(s):
    """Uniform double in [0, 1) with 53 random bits."""
    return np.float64(np.int64(next_u64(s) >> _U64(11))) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def normal(s):
    """Standard normal draw: ziggurat with 256 layers (99.3 % of draws take the first branch)."""
    while True:
        r = next_u64(s)
        idx = np.int64(r & _BYTE)
        r >>= _U64(8)
        negative = (r & _ONE) != _U64(0)
        rabs = (r >> _U64(1)) & _MANTISSA
        x = np.float64(np.int64(rabs)) * _ZIG_W[idx]  # via int64: < 2**52, converts in one instruction
        if negative:
            x = -x
        if rabs < _ZIG_K[idx]:
            return x
        if idx == 0:  # the tail beyond r
            while True:
                xx = -math.log1p(-uniform(s)) / _ZIG_R
                yy = -math.log1p(-uniform(s))
                if yy + yy > xx * xx:
                    return -(_ZIG_R + xx) if ((rabs >> _U64(8)) & _ONE) != _U64(0) else _ZIG_R + xx
        elif (_ZIG_F[idx - 1] - _ZIG_F[idx]) * uniform(s) + _ZIG_F[idx] < math.exp(-0.5 * x * x):
            return x




def seed_state(rng: np.random.Generator) -> np.ndarray:
    """A fresh xoshiro256** state (uint64[4], never all zero) drawn from ``rng``."""
    return rng.integers(1, 2**63, size=4, dtype=np.uint64)
