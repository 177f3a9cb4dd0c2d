"""The network-to-tile mapping shared by training and the cost model (REFERENCE.md s1)."""

import pytest

from rpuarch.mapping import ArrayMapping, LogicalArray, NetworkMapping, lstm_arrays, mlp_arrays


def test_lstm2_64wp_weight_count_is_the_papers():
    # 4*64*(87+64+1) + 4*64*(64+64+1) + 87*(64+1) = 77,591 (REFERENCE.md s1, "77 K")
    arrays = lstm_arrays(vocab_size=87, hidden=64, layers=2)
    assert [(a.rows, a.cols) for a in arrays] == [(256, 152), (256, 129), (87, 65)]
    assert NetworkMapping.build(arrays, 4096, 4096).weights == 77_591


def test_mnist_mlp_weight_count():
    arrays = mlp_arrays([784, 256, 128, 10])
    assert sum(a.weights for a in arrays) == 256 * 785 + 128 * 257 + 10 * 129


@pytest.mark.parametrize("rows, cols, tile", [(256, 161, 128), (1000, 1000, 300), (7, 5, 4), (64, 64, 64)])
def test_blocks_cover_the_array_exactly_once(rows, cols, tile):
    mapping = ArrayMapping(LogicalArray("a", "lstm", rows, cols), tile, tile)
    covered = [[0] * cols for _ in range(rows)]
    for block in mapping.blocks:
        assert 0 < block.shape[0] <= tile and 0 < block.shape[1] <= tile
        for r in range(block.r0, block.r1):
            for c in range(block.c0, block.c1):
                covered[r][c] += 1
    assert all(v == 1 for row in covered for v in row)
    assert mapping.tiles == len(mapping.blocks) == -(-rows // tile) * -(-cols // tile)


def test_utilization():
    mapping = NetworkMapping.build(lstm_arrays(97, 64, 1), 128, 128)
    # lstm0: 256 x 162 on a 2 x 2 grid of 128 x 128; softmax 97 x 65 on one tile
    assert mapping.tiles == 5
    assert mapping.utilization == pytest.approx((256 * 162 + 97 * 65) / (5 * 128 * 128))
