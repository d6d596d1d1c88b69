"""vdj.cluster: window table, error-window merging (Poisson model), shrunk windows, bounded memory."""

from __future__ import annotations

import pytest

from vdj.cluster import (
    ErrorModel, WindowTable, cluster_windows, edit_events, estimate_error_model, is_error_window, keep_longest,
)

import vdj_synthetic as syn

W = 50


def _window(seed: int) -> str:
    return syn.random_sequence(W, seed)


def _table(counts: dict[str, int], system: int = 0, max_reads: int = 5) -> WindowTable:
    table = WindowTable(max_reads)
    number = 0
    for window, n in counts.items():
        for _ in range(n):
            table.add(window, system, 200, number, "A" * 200, 10)
            number += 1
    return table


def test_bounded_read_sample_is_the_longest_whatever_the_order():
    w = _window(1)
    lengths = [100, 300, 200, 250, 150, 300]
    samples = []
    for order in (range(6), reversed(range(6))):
        table = WindowTable(max_reads=3)
        for number in order:
            table.add(w, 0, lengths[number], number, "A" * lengths[number], 5)
        entry = table.entries[w]
        assert entry.count == 6 and entry.length_sum == 1300
        samples.append(sorted(entry.reads, reverse=True))
    assert samples[0] == samples[1]
    assert [(r[0], -r[1]) for r in samples[0]] == [(300, 1), (300, 5), (250, 3)]
    assert sorted(keep_longest([(1, 0, "a", 0), (3, -1, "b", 0), (2, -2, "c", 0)], 2)) == [(2, -2, "c", 0), (3, -1, "b", 0)]


def test_tables_of_workers_merge():
    w, v = _window(2), _window(3)
    one, two, whole = WindowTable(2), WindowTable(2), WindowTable(2)
    reads = [(w, 1, 120), (v, 0, 100), (w, 0, 130), (w, 0, 110), (v, 0, 90)]
    for number, (window, system, length) in enumerate(reads):
        (one if number % 2 else two).add(window, system, length, number, "C" * length, 3)
        whole.add(window, system, length, number, "C" * length, 3)
    one.merge(two)
    for window in (w, v):
        assert one.entries[window].count == whole.entries[window].count
        assert sorted(one.entries[window].reads) == sorted(whole.entries[window].reads)
        assert one.entries[window].main_system() == whole.entries[window].main_system()
    assert one.entries[w].main_system() == 0


def test_main_system_is_majority():
    table = WindowTable()
    w = _window(2)
    table.add(w, 1, 100, 0, "A" * 100, 0)
    for number in range(1, 4):
        table.add(w, 0, 100, number, "A" * 100, 0)
    assert table.entries[w].main_system() == 0


def test_error_windows_merge_into_their_clone():
    head = _window(3)
    one_error = syn.mutate(head, [10])
    two_errors = syn.mutate(head, [3, 40])
    shifted = head[1:] + "A"  # an indel: edit distance 2
    far_single = syn.mutate(head, [5, 15, 25, 35])  # 4 errors, one read
    other = _window(4)
    table = _table({head: 1000, one_error: 3, two_errors: 1, shifted: 1, far_single: 1, other: 7})
    clones, assignment, stats = cluster_windows(table, W)
    assert [c.window for c in clones] == [head, other]
    assert clones[0].reads == 1006 and clones[1].reads == 7
    assert assignment[one_error] == assignment[far_single] == head
    assert stats.error_windows_merged == 4 and stats.error_reads_merged == 6


def test_similar_true_clones_stay_apart():
    """Two clones 2 edits apart, both abundant: not an error of each other."""
    head = _window(5)
    sibling = syn.mutate(head, [20, 30])
    table = _table({head: 3000, sibling: 40})
    clones, _, stats = cluster_windows(table, W)
    assert len(clones) == 2 and stats.error_windows_merged == 0


def test_merging_can_be_disabled():
    head = _window(6)
    table = _table({head: 100, syn.mutate(head, [7]): 1})
    clones, _, _ = cluster_windows(table, W, max_distance=0)
    assert len(clones) == 2


def test_shrunk_window_joins_the_full_window_with_its_centre():
    head = _window(7)
    shrunk = head[25 - 15: 25 + 15]  # 30 nt centred like the detection does
    alone = _window(8)[10:40]
    table = _table({head: 20, shrunk: 2, alone: 1})
    clones, assignment, stats = cluster_windows(table, W)
    assert assignment[shrunk] == head and assignment[alone] == alone
    assert stats.shrunk_windows_merged == 1 and stats.shrunk_reads_merged == 2
    assert {c.window: c.reads for c in clones} == {head: 22, alone: 1}
    assert [c.shrunk for c in clones if c.window == alone] == [True]


def test_error_model():
    # a 2-read variant at 1 edit of a 1000-read clone: error; 40 reads at 2 edits of 3000: a clone
    assert is_error_window(2, 1000, 1, W, 0.01)
    assert not is_error_window(40, 3000, 2, W, 0.01)
    # single reads: far edits only from clones large enough to produce such errors
    assert is_error_window(1, 200, 4, W, 0.01)
    assert not is_error_window(1, 2, 4, W, ErrorModel())
    # the head must be larger
    assert not is_error_window(5, 6, 1, W, 0.01)
    # indel slips are more frequent than a given substitution; a shifted window is the same clone
    assert is_error_window(20, 10_000, 0, W, 0.01, indels=(1,))
    assert not is_error_window(20, 10_000, 2, W, 0.01)
    assert is_error_window(50, 10_000, 0, W, 0.01, indels=())
    # two clones whose junctions differ by a 4-nt insertion stay apart
    assert not is_error_window(240, 26_000, 0, W, 0.01, indels=(4,))


def test_edit_events_ignore_the_shift_of_the_window():
    head = _window(9)
    shifted = head[1:] + "T"
    assert (0, ()) in edit_events(shifted, head, 5)
    slipped = head[1:20] + head[23:] + "AAAA"  # three deleted nucleotides inside, shifted by one
    assert any(s == 0 and sum(i) == 3 for s, i in edit_events(slipped, head, 8))
    assert edit_events(syn.mutate(head, [10, 30]), head, 5) == [(2, ())]
    assert edit_events(_window(10), head, 3) == []


def test_shifted_windows_merge():
    head = _window(11)
    slipped = "G" + head[:20] + head[23:] + "AC"  # 3 nt deleted inside: the centre moved by 1.5 nt
    table = _table({head: 5000, head[1:] + "C": 60, "G" + head[:-1]: 30, head[2:] + "AC": 12, slipped: 9})
    clones, _, stats = cluster_windows(table, W, error_rate=0.01)
    assert [c.window for c in clones] == [head] and clones[0].reads == 5111
    # with the error rates measured on these data (no substitution, no indel seen), the window
    # with a 3-nt deletion and 9 reads is too frequent to be an error: it stays a clone
    clones, _, stats = cluster_windows(table, W)
    assert len(clones) == 2 and stats.error_model.indel < 1e-3


def test_error_rates_measured_on_the_largest_clones():
    head = _window(12)
    counts = {head: 10_000}
    for i in range(25):  # 25 one-substitution variants, 10 reads each
        counts[syn.mutate(head, [i + 5])] = 10
    for i in range(5):  # 5 one-nucleotide deletions (window cut one further), 10 reads each
        counts[head[:10 + i] + head[11 + i:] + "G"] = 10
    model = estimate_error_model(_table(counts), W)
    rate = 1 - (10_000 / 10_300) ** (1 / W)
    assert model.substitution == pytest.approx(1.5 * rate * 250 / 300)
    assert model.indel == pytest.approx(1.5 * rate * 50 / 300)
    small = estimate_error_model(_table({head: 100}), W)
    assert small == ErrorModel()
