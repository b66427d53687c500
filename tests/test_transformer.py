"""The %%notify_when_done input transformer: pure rewriting, then inside a real shell."""

from __future__ import annotations

import ast

from IPython.core.interactiveshell import InteractiveShell

from gntp_jupyter.transformer import arm_call, notify_when_done_transformer

BODY = ["x = 1\n", "for i in range(3):\n", "    x += i\n", "x\n"]


def armed_args(line: str) -> str:
    """The ARGS string the emitted call passes to the line magic."""
    call = ast.parse(line).body[0].value
    assert isinstance(call, ast.Call) and call.func.attr == "run_line_magic"
    name, args = (ast.literal_eval(a) for a in call.args)
    assert name == "notify_when_done"
    return args


def test_other_cells_are_left_alone() -> None:
    for lines in ([], BODY, ["%%time\n", *BODY], ["%notify hi\n"],
                  ["x = 1  # %%notify_when_done\n"], ["%%notify_when_donex\n", *BODY],
                  ["  %%notify_when_done\n", *BODY]):
        assert notify_when_done_transformer(list(lines)) == lines


def test_header_becomes_one_arming_line_and_the_body_is_untouched() -> None:
    out = notify_when_done_transformer(["%%notify_when_done\n", *BODY])
    assert out[1:] == BODY
    assert len(out) == 1 + len(BODY)  # line numbers in tracebacks stay the user's
    assert armed_args(out[0]) == ""


def test_arguments_survive_quotes_and_braces() -> None:
    header = """%%notify_when_done -t "It's {status}" -m 'a\\b {x!r}' --min-seconds 2\n"""
    out = notify_when_done_transformer([header, *BODY])
    assert armed_args(out[0]) == """-t "It's {status}" -m 'a\\b {x!r}' --min-seconds 2"""
    assert out[0] == arm_call(armed_args(out[0]))


def test_header_without_body_or_newline() -> None:
    assert armed_args(notify_when_done_transformer(["%%notify_when_done --only-fail"])[0]) == (
        "--only-fail"
    )


def test_help_is_left_to_ipython() -> None:
    for header in ("%%notify_when_done?\n", "%%notify_when_done??\n", "%%notify_when_done -t x?\n"):
        assert notify_when_done_transformer([header, *BODY]) == [header, *BODY]


def test_a_second_cell_magic_still_runs_as_a_cell_magic() -> None:
    out = notify_when_done_transformer(["%%notify_when_done\n", "%%capture cap\n", "print(1)\n"])
    assert len(out) == 2
    assert armed_args(out[0]) == ""
    assert out[1].startswith("get_ipython().run_cell_magic('capture', 'cap', 'print(1)\\n')")


def test_installed_in_a_shell_and_removed_on_unload(shell: InteractiveShell) -> None:
    cell = "%%notify_when_done -t T\nprint(1)\n"
    before = shell.transform_cell(cell)
    assert "run_cell_magic('notify_when_done'" in before  # IPython's own cell-magic call
    shell.run_line_magic("load_ext", "gntp_jupyter")
    assert shell.transform_cell(cell) == arm_call("-t T") + "print(1)\n"
    # Leading blank lines and common indentation are cleaned up first, as for any cell.
    assert shell.transform_cell("\n\n  %%notify_when_done\n  x = 1\n") == arm_call("") + "x = 1\n"
    shell.run_line_magic("unload_ext", "gntp_jupyter")
    assert shell.transform_cell(cell) == before


def test_typing_the_header_waits_for_the_body_like_timeit(shell: InteractiveShell) -> None:
    shell.run_line_magic("load_ext", "gntp_jupyter")
    check = shell.input_transformer_manager.check_complete
    for header in ("%%notify_when_done\n", "%%notify_when_done --only-fail\n"):
        assert check(header) == check("%%timeit\n") == ("incomplete", 0)
    assert check("%%notify_when_done\nx = 1\n\n") == ("complete", None)
    # ... and the cell still runs through the transformer
    assert shell.transform_cell("%%notify_when_done\nx = 1\n").startswith("get_ipython()")
