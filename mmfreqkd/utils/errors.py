"""Errors renamed to say where they come from."""


def with_prefix(error: Exception, prefix: str) -> Exception:
    """The same kind of error with ``prefix: `` before its message.

    Args:
        error (Exception): The error to rename.
        prefix (str): What to name first, e.g. the checkpoint file or the
            config key of the model being loaded.

    Returns:
        Exception: A new error of the type of ``error``, or ``error`` itself
        when that type cannot be built from a message alone.
    """
    # str(KeyError) quotes its message: take the message itself
    message = error.args[0] if len(error.args) == 1 else str(error)
    try:
        return type(error)(f'{prefix}: {message}')
    except Exception:  # a type whose constructor needs more arguments
        return error
