"""Split files: one frame (or stem) per line, shared by datasets and
converters."""
from typing import Callable, Iterable, List


def parse_split_lines(lines: Iterable[str],
                      source: str,
                      parse_entry: Callable[[str, str], str],
                      item: str = 'frame') -> List[str]:
    """The entries of a split file, in file order.

    Lines are stripped and blank lines skipped; every other line must name
    an entry that was not listed before.

    Args:
        lines (Iterable[str]): The lines of the file.
        source (str): The file name, for error messages.
        parse_entry (callable): ``parse_entry(entry, where) -> name`` turns
            a stripped line into its name, raising ``ValueError`` that names
            ``where`` (``file:line``) when the line is malformed.
        item (str): What an entry is, for error messages. Default:
            ``'frame'``.

    Returns:
        list[str]: The names.

    Raises:
        ValueError: On a malformed line or a repeated entry, naming the file
            and line.
    """
    names = []
    first_line = {}
    for line_no, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry:
            continue
        where = f'{source}:{line_no}'
        name = parse_entry(entry, where)
        if name in first_line:
            raise ValueError(f'{where}: {item} {name!r} already listed on '
                             f'line {first_line[name]}')
        first_line[name] = line_no
        names.append(name)
    return names


def read_split_file(split_file: str,
                    parse_entry: Callable[[str, str], str]) -> List[str]:
    """:func:`parse_split_lines` of a local file (a byte-order mark is
    skipped).

    Raises:
        ValueError: Also when the file lists no frame at all (it is empty
            or holds only blank lines), naming the file.
    """
    with open(split_file, encoding='utf-8-sig') as f:
        names = parse_split_lines(f, split_file, parse_entry)
    if not names:
        raise ValueError(f'{split_file}: the split file lists no frames (it '
                         'is empty or holds only blank lines)')
    return names
