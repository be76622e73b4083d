"""Error reporting for the command-line tools."""
import functools
import sys
import traceback


def exit_with_one_line_error(main):
    """Run ``main`` and turn an uncaught exception into a one-line message.

    The full traceback is printed first (it is what a developer needs), then
    a last line ``error: <type>: <message>`` names the problem for a user, and
    the process exits with status 1.
    """

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - reported, then exit 1
            traceback.print_exc()
            message = str(exc).strip().splitlines()
            summary = message[0] if message else ''
            print(f'error: {type(exc).__name__}: {summary}', file=sys.stderr)
            sys.exit(1)

    return wrapper
