"""numba kernel of the buffered transfer cycle (TTv2, c-TTv2) in exact mode: the fast path of
``TransferTile.update`` for these algorithms, the same steps in the same order.

With a transfer after every rank-1 update (TTv2's default), the Python loop of ``TransferTile``
makes six small calls per update (A's update, the read of a column, the buffer, C's update, the
choppers); their interpreter overhead was half of the time. Here one call runs a whole batch: A's
updates (``kernels._exact_loop``), the reads through the transfer periphery
(``periphery_kernel.managed_matvec``), the buffer and C's pulses, drawing from the same xoshiro
streams as the tiles' own calls, so the numbers are those of the Python loop, bit for bit
(tests/device/test_transfer.py). The chopper flips come from the tile's numpy Generator: the
caller draws the batch's uniforms at once, in the order the loop uses them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import _exact_loop
from .periphery_kernel import managed_matvec


@njit(cache=True, nogil=True)
def buffered_transfer_loop(x, d, fast_lr, fast_w, fast_dev, fast_mgmt, fast_state, fast_stats,
                           read_params, read_perfect, read_counts,
                           slow_w, slow_dev, slow_mgmt, slow_state, slow_stats,
                           buffer, in_chopper, out_chopper, flips, schedule, transfer):
    """The rank-1 updates of x (n, in) and d (n, out) on A (``fast_w``) with a transfer after
    every ``schedule[0]``-th one; updates the arrays, choppers, streams and counters in place.

    fast_dev / slow_dev: (packed, dw_min_std, model, exp) of each array's devices; *_mgmt: (dw_min,
    desired_bl, fixed, um, blm, max_bl) of its update (lr is fast_lr for A, step dw_min for C);
    schedule: (every, reads, since_transfer, next_column, chopped); transfer: (lr_t, threshold,
    max_steps, momentum, forget_buffer, step lr of C, in_chop_prob, out_chop_prob). ``flips``: the
    uniforms of the choppers' flips. Returns (since_transfer, next_column, transfers, flips used).
    """
    every, reads, since, next_column, chopped = schedule
    lr_t, threshold, max_steps, momentum, forget, slow_lr, in_chop_prob, out_chop_prob = transfer
    f_dw, f_bl, f_fixed, f_um, f_blm, f_max_bl = fast_mgmt
    s_dw, s_bl, s_fixed, s_um, s_blm, s_max_bl = slow_mgmt
    n_out, n_in = fast_w.shape
    xs = np.empty((1, n_in))
    ds = np.empty((1, n_out))
    onehot = np.zeros((reads, n_in))
    steps = np.empty((reads, n_out))
    columns = np.empty(reads, dtype=np.int64)
    transfers = 0
    used = 0
    for k in range(x.shape[0]):
        for j in range(n_in):
            xs[0, j] = x[k, j] * in_chopper[j] if chopped else x[k, j]
        for i in range(n_out):
            ds[0, i] = d[k, i] * out_chopper[i] if chopped else d[k, i]
        _exact_loop(fast_w, fast_dev[0], fast_dev[1], fast_dev[2], fast_dev[3], xs, ds, fast_lr,
                    f_dw, f_bl, f_fixed, f_um, f_blm, f_max_bl, fast_state, fast_stats)
        since += 1
        if since < every:
            continue
        since = 0
        transfers += 1
        onehot[:] = 0.0
        for r in range(reads):
            columns[r] = (next_column + r) % n_in
            onehot[r, columns[r]] = 1.0
        next_column = (columns[reads - 1] + 1) % n_in
        if read_perfect:  # a one-hot product without noise or converters: the columns themselves
            read = np.empty((reads, n_out))
            for r in range(reads):
                read[r] = fast_w[:, columns[r]]
        else:
            read = managed_matvec(fast_w.T, onehot, read_params, fast_state, read_counts)
        moved = False
        for r in range(reads):
            j = columns[r]
            for i in range(n_out):
                value = read[r, i]
                if chopped:
                    value *= in_chopper[j] * out_chopper[i]
                h = buffer[i, j] + value * lr_t
                n = min(max(np.trunc(h / threshold), -max_steps), max_steps)
                if forget:
                    if n != 0.0:
                        h = h * momentum
                else:
                    h = h - (1.0 - momentum) * n * threshold
                buffer[i, j] = h
                steps[r, i] = -n
                moved = moved or n != 0.0
        if moved:
            _exact_loop(slow_w, slow_dev[0], slow_dev[1], slow_dev[2], slow_dev[3], onehot, steps, slow_lr,
                        s_dw, s_bl, s_fixed, s_um, s_blm, s_max_bl, slow_state, slow_stats)
        if chopped:
            for r in range(reads):
                if flips[used] < in_chop_prob:
                    in_chopper[columns[r]] *= -1.0
                used += 1
            if columns[reads - 1] == n_in - 1 and out_chop_prob > 0.0:
                for i in range(n_out):
                    if flips[used] < out_chop_prob:
                        out_chopper[i] *= -1.0
                    used += 1
    return since, next_column, transfers, used
