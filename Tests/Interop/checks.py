"""A tiny check runner: each check prints PASS or FAIL; the exit code says whether all passed."""
import asyncio
import sys
import traceback

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    line = ("PASS " if ok else "FAIL ") + name
    if detail and not ok:
        line += ": " + str(detail)[:400]
    print(line, flush=True)


async def run(*steps):
    """Runs each step (an async function); one that raises is a failure, and the next one runs."""
    for step in steps:
        try:
            await asyncio.wait_for(step(), 20)
        except Exception as error:  # the step could not go on: that is a failure
            check(f"{step.__name__} could not go on", False, "".join(traceback.format_exception_only(error)).strip())
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed", flush=True)
    sys.exit(0 if results and all(results) else 1)
