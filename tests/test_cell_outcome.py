"""cell_outcome: turning how a cell ended into a title and a text (pure, no shell)."""

from __future__ import annotations

import asyncio

import pytest

from gntp_jupyter.cell_outcome import (
    FAILED,
    FINISHED,
    INTERRUPTED,
    CellOutcome,
    NotifyRule,
    describe_error,
    expand,
    failing_line,
    format_elapsed,
    render,
    short_repr,
)

CELL = "<cell-7>"
SOURCE = "def f(d):\n    return 1 / d\nx = 5\nf(0)\n"


def raised_in_cell(source: str = SOURCE) -> BaseException:
    """Run ``source`` as if it were a cell called CELL; return what it raised."""
    import linecache

    linecache.cache[CELL] = (len(source), None, source.splitlines(True), CELL)
    try:
        exec(compile(source, CELL, "exec"), {})
    except BaseException as exc:
        return exc
    raise AssertionError("the source did not raise")


def is_cell(filename: str) -> bool:
    return filename == CELL


class _Result:
    """The attributes of IPython's ExecutionResult that from_result reads."""

    def __init__(self, *, result=None, error_in_exec=None, error_before_exec=None, count=3):
        self.result = result
        self.error_in_exec = error_in_exec
        self.error_before_exec = error_before_exec
        self.execution_count = count


def test_success_carries_a_short_repr_of_the_last_value() -> None:
    outcome = CellOutcome.from_result(_Result(result=[1, 2, 3]), 2.5)
    assert outcome.status == FINISHED and outcome.ok
    assert outcome.result == "[1, 2, 3]"
    assert outcome.count == 3
    assert render(outcome) == ("In [3] finished", "Finished in 2.5 s → [1, 2, 3]")


def test_success_without_a_value_says_only_the_time() -> None:
    outcome = CellOutcome.from_result(_Result(), 0.25, is_cell_file=is_cell)
    assert render(outcome) == ("In [3] finished", "Finished in 0.25 s")


def test_failure_names_type_message_and_the_cells_line() -> None:
    exc = raised_in_cell()
    outcome = CellOutcome.from_result(_Result(error_in_exec=exc), 61, is_cell_file=is_cell)
    assert outcome.status == FAILED and not outcome.ok
    assert outcome.error == "ZeroDivisionError: division by zero"
    assert outcome.line == "line 2: return 1 / d"  # the deepest frame in the cell
    title, text = render(outcome)
    assert title == "In [3] failed"
    assert text.splitlines() == [
        "ZeroDivisionError: division by zero", "line 2: return 1 / d", "after 1 min 01 s",
    ]


def test_an_error_inside_a_library_points_at_the_cells_calling_line() -> None:
    exc = raised_in_cell("import json\nvalue = 1\njson.loads('{')\n")
    assert failing_line(exc, is_cell) == "line 3: json.loads('{')"
    # Without knowing which file is the cell, the deepest frame is named with its file.
    assert "json" in failing_line(exc, None).split(":")[0]


def test_syntax_error_before_execution_names_its_line() -> None:
    try:
        compile("x = 1\ny = (\n", CELL, "exec")
    except SyntaxError as exc:
        error = exc
    outcome = CellOutcome.from_result(_Result(error_before_exec=error), 0.0)
    assert outcome.status == FAILED
    assert outcome.error.startswith("SyntaxError")
    assert outcome.line.startswith("line 2")


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), asyncio.CancelledError()])
def test_interrupts_are_not_failures(exc: BaseException) -> None:
    outcome = CellOutcome.from_result(_Result(error_in_exec=exc), 12.0)
    assert outcome.status == INTERRUPTED
    assert render(outcome) == ("In [3] interrupted", "Interrupted after 12.0 s")


def test_no_result_at_all_is_an_interrupted_awaiting_cell() -> None:
    # ipykernel cancels a top-level-await cell on SIGINT and passes None to post_run_cell.
    outcome = CellOutcome.from_result(None, 3.0)
    assert outcome.status == INTERRUPTED
    assert render(outcome)[0] == "Cell interrupted"


def test_rule_only_fail_and_min_seconds() -> None:
    quick_ok = CellOutcome(FINISHED, 1.0)
    slow_ok = CellOutcome(FINISHED, 100.0)
    quick_fail = CellOutcome(FAILED, 1.0)
    slow_fail = CellOutcome(FAILED, 100.0)
    slow_stop = CellOutcome(INTERRUPTED, 100.0)
    assert all(NotifyRule().wants(o) for o in (quick_ok, slow_ok, quick_fail))
    only_fail = NotifyRule(only_fail=True)
    assert [only_fail.wants(o) for o in (quick_ok, quick_fail, slow_stop)] == [False, True, True]
    slow = NotifyRule(min_seconds=10)
    assert [slow.wants(o) for o in (quick_ok, quick_fail, slow_ok, slow_fail)] == [
        False, False, True, True,
    ]
    both = NotifyRule(only_fail=True, min_seconds=10)
    assert [both.wants(o) for o in (slow_ok, quick_fail, slow_fail)] == [False, False, True]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0.00 s"), (0.426, "0.43 s"), (12.34, "12.3 s"), (59.94, "59.9 s"),
     (125.3, "2 min 05 s"), (3600, "1 h 00 min"), (3725, "1 h 02 min"), (90061, "25 h 01 min"),
     (0.999, "1.0 s"), (59.97, "1 min 00 s")],
)
def test_format_elapsed(seconds: float, text: str) -> None:
    assert format_elapsed(seconds) == text


def test_templates_use_outcome_fields_and_the_users_namespace() -> None:
    outcome = CellOutcome(FINISHED, 125.3, result="0.031", count=9)
    namespace = {"loss": 0.03125, "rows": [1, 2, 3], "status": "mine"}
    title, text = render(
        outcome, "Run {count}: {status}", "loss {loss:.3f}, {len(rows)} rows, {elapsed} → {result}",
        namespace,
    )
    assert title == "Run 9: mine"  # the user's own variables win over the outcome's fields
    assert text == "loss 0.031, 3 rows, 2 min 05 s → 0.031"


def test_a_failure_message_template_still_names_the_error() -> None:
    outcome = CellOutcome(FAILED, 5.0, error="ValueError: bad", line="line 4: check()")
    assert render(outcome, None, "Training {status}")[1] == (
        "Training failed\nValueError: bad\nline 4: check()"
    )
    # ... unless the template places it itself.
    assert render(outcome, None, "{status}: {error}")[1] == "failed: ValueError: bad"


@pytest.mark.parametrize(
    ("template", "expected", "bad"),
    [
        ("{missing} and {x}", "{missing} and 1", 1),          # unknown names stay as written
        ("{x:>4}|{x!r}", "   1|1", 0),
        ("{{literal}} {x}", "{literal} 1", 0),
        ("unbalanced { brace", "unbalanced { brace", 1),
        ("{x.nope}", "{x.nope}", 1),
        ("{1/0}", "{1/0}", 1),
        ("{name!r}", "'ada'", 0),
        ("{x:%%bad}", "{x:%%bad}", 1),
    ],
)
def test_expand_never_raises(template: str, expected: str, bad: int) -> None:
    problems: list[str] = []
    assert expand(template, {}, {"x": 1, "name": "ada"}, problems) == expected
    assert len(problems) == bad


def test_expand_fills_every_valid_field_and_describes_the_rest() -> None:
    problems: list[str] = []
    text = expand("value {1/0} and {len(rows)} and {loss:.3q}", {}, {"rows": [1, 2], "loss": 0.5},
                  problems)
    assert text == "value {1/0} and 2 and {loss:.3q}"
    assert problems[0] == "{1/0}: ZeroDivisionError: division by zero"
    assert problems[1].startswith("{loss:.3q}: ValueError: Unknown format code 'q'")


def test_expand_looks_in_the_callers_locals_then_the_user_then_the_fields() -> None:
    text = expand("{n} {local_only} {count} {other}", {"count": 216, "other": "field"},
                  {"n": "global", "count": 1234}, local_ns={"n": 5, "local_only": 10})
    assert text == "5 10 1234 field"


def test_an_unprintable_exception_is_described_not_raised() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    assert describe_error(Unprintable()) == "Unprintable (unprintable: its __str__ raised)"


def test_short_repr_is_one_short_line() -> None:
    assert short_repr(None) == ""
    assert short_repr("abc") == "'abc'"
    long = short_repr("x" * 500)
    assert len(long) < 80 and "..." in long
    assert "\n" not in short_repr({"a": "line1\nline2", "b": list(range(100))})
    assert len(short_repr(list(range(1000)))) < 80

    class Shaped:
        shape = (100, 3)

    assert short_repr(Shaped()) == "Shaped 100×3"

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert short_repr(Broken()) == "<Broken object>"


def test_describe_error_is_one_bounded_line() -> None:
    assert describe_error(ValueError()) == "ValueError"
    text = describe_error(RuntimeError("first\nsecond " + "y" * 1000))
    assert "\n" not in text and len(text) <= 200 and text.startswith("RuntimeError: first second")
