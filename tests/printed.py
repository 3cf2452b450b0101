"""Compare printed output with committed output: text exactly, numbers to a tolerance.

Printed figures legitimately differ across machines in their last digits (another
processor, BLAS build or numpy version sums in another order), so a byte-for-byte
comparison fails on a fresh machine while telling nothing.  Here the text with every
number replaced by ``#`` must be identical (runs of spaces collapsed, because a column's
alignment moves when a printed width does), and each number must agree with the
committed one to

    |got - want| <= rtol * |want| + one unit in the last digit printed in ``want``,

the unit allowing for a tiny change that moves a rounding boundary.  A number that moves
by more is a real change and fails.
"""
import re

# A number not glued to a name ("sigma3" and "t_5" are text).
NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def last_digit_unit(token):
    """One unit in the last printed place of a number token ('-.0390124' -> 1e-7).

    Integers (counts, iterations, degrees of freedom) get no allowance: 0.
    """
    mantissa, _, exponent = token.lower().partition("e")
    if "." not in mantissa and not exponent:
        return 0.0
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_agree(got, want, rtol):
    """|got - want| <= rtol |want| + one last-digit unit of ``want`` (number tokens)."""
    g, w = float(got), float(want)
    return abs(g - w) <= rtol * abs(w) + last_digit_unit(want) * (1 + 1e-9)


def split_numbers(text):
    """(text with numbers as '#' and space runs collapsed, list of number tokens)."""
    tokens = NUMBER.findall(text)
    return re.sub(r"[ \t]+", " ", NUMBER.sub("#", text)), tokens


def output_differences(got, want, rtol):
    """Human-readable list of the differences between two printed outputs (empty: equal)."""
    got_lines, want_lines = got.splitlines(), want.splitlines()
    if len(got_lines) != len(want_lines):
        return [f"{len(got_lines)} lines printed, {len(want_lines)} committed"]
    problems = []
    for number, (g_line, w_line) in enumerate(zip(got_lines, want_lines), start=1):
        g_text, g_nums = split_numbers(g_line)
        w_text, w_nums = split_numbers(w_line)
        if g_text != w_text or len(g_nums) != len(w_nums):
            problems.append(f"line {number}: text differs:\n  got  {g_line}\n  want {w_line}")
            continue
        for g, w in zip(g_nums, w_nums):
            if not numbers_agree(g, w, rtol):
                problems.append(f"line {number}: {g} against committed {w} (rtol {rtol:g}):"
                                f"\n  got  {g_line}\n  want {w_line}")
    return problems


def assert_output_matches(got, want, rtol):
    """Fail with every differing line when ``got`` and ``want`` differ beyond ``rtol``."""
    problems = output_differences(got, want, rtol)
    assert not problems, "\n".join(problems[:20])


def assert_printed_line(text, piece, rtol=0.0):
    """Some line of ``text`` contains ``piece`` with its numbers within ``rtol`` (+ last digit)."""
    p_text, p_nums = split_numbers(piece.strip())
    for line in text.splitlines():
        l_text, l_nums = split_numbers(line)
        start = l_text.find(p_text)
        if start < 0:
            continue
        first = l_text[:start].count("#")
        candidates = l_nums[first:first + len(p_nums)]
        if all(numbers_agree(g, w, rtol) for g, w in zip(candidates, p_nums)):
            return
    raise AssertionError(f"no line matches {piece!r} within rtol={rtol}:\n{text}")
