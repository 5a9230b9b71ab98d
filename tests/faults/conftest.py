"""Prints the fault table of this run after the tests, ready to paste into a note."""

from tests.faults.harness import TABLE


def pytest_terminal_summary(terminalreporter):
    if not TABLE:
        return
    columns = list(TABLE[0])
    terminalreporter.section("fault table (acked/stored/sent: visitors+agents; to_*: delivered/stored)")
    terminalreporter.write_line("| " + " | ".join(columns) + " |")
    terminalreporter.write_line("|" + "---|" * len(columns))
    for row in TABLE:
        terminalreporter.write_line("| " + " | ".join(str(row.get(column, "")) for column in columns) + " |")
