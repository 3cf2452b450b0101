"""The printed-output comparison fails on a real change and passes on a last-digit one."""
import pytest

from printed import assert_output_matches, assert_printed_line, last_digit_unit

COMMITTED = """3-level logit model
logL = -1323.961822
  week |   6.209896   .0390124  159.18   0.000
sigma3  1.024614
"""


def test_last_digit_unit_reads_the_printed_precision():
    assert last_digit_unit("-.0390124") == pytest.approx(1e-7)
    assert last_digit_unit("159.18") == pytest.approx(1e-2)
    assert last_digit_unit("2.5e-05") == pytest.approx(1e-6)
    assert last_digit_unit("432") == 0.0          # counts must match exactly


def test_last_digit_change_passes():
    moved = COMMITTED.replace("-1323.961822", "-1323.961823").replace(".0390124", ".0390125")
    assert_output_matches(moved, COMMITTED, rtol=1e-9)


def test_alignment_change_passes():
    assert_output_matches(COMMITTED.replace("  week |", " week |"), COMMITTED, rtol=1e-9)


def test_change_beyond_tolerance_fails():
    moved = COMMITTED.replace("-1323.961822", "-1323.961842")        # 1.5e-8 relative
    with pytest.raises(AssertionError, match="line 2"):
        assert_output_matches(moved, COMMITTED, rtol=1e-9)
    assert_output_matches(moved, COMMITTED, rtol=1e-7)


def test_text_change_fails():
    with pytest.raises(AssertionError, match="text differs"):
        assert_output_matches(COMMITTED.replace("sigma3", "sigma2"), COMMITTED, rtol=1e-9)
    with pytest.raises(AssertionError, match="lines printed"):
        assert_output_matches(COMMITTED + "extra\n", COMMITTED, rtol=1e-9)


def test_printed_line_finds_a_piece_within_tolerance():
    assert_printed_line(COMMITTED, "week |   6.209897   .0390124", rtol=0)
    with pytest.raises(AssertionError):
        assert_printed_line(COMMITTED, "week |   6.209996", rtol=1e-9)


def test_integers_and_names_must_match_exactly():
    with pytest.raises(AssertionError):
        assert_output_matches("Number of obs = 433\n", "Number of obs = 432\n", rtol=1e-9)
    with pytest.raises(AssertionError, match="text differs"):
        assert_output_matches("t_6 sigma2\n", "t_5 sigma2\n", rtol=1e-9)
