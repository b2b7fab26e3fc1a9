"""``simlib cache``: see and empty the folder of results kept on disk for the apps."""

from __future__ import annotations


def _mb(n: int) -> str:
    return f"{n / 1_048_576:,.1f} MB"


def cmd_cache_info(args) -> int:
    """Where the disk cache is, how many results it holds and how big it is."""
    from simlib.cache import DISK_MAX_MB, cache_dir, disk_usage

    files, size = disk_usage()
    print(f"{cache_dir()}: {files:,} result(s), {_mb(size)} (limit {DISK_MAX_MB:,} MB, "
          "or $SIMLIB_CACHE_MAX_MB)")  # fmt: skip
    return 0


def cmd_cache_clear(args) -> int:
    """Delete the results kept on disk (the apps recompute them on their next visit)."""
    from simlib.cache import cache_dir, clear_disk_cache

    files, size = clear_disk_cache()
    print(f"{cache_dir()}: {files:,} result(s) deleted, {_mb(size)} freed")
    return 0


def add_parser(subparsers) -> None:
    """Add ``simlib cache info`` and ``simlib cache clear``."""
    p = subparsers.add_parser(
        "cache",
        help="see or empty the disk cache that makes the apps open quickly",
        description="The apps keep their slow first computation (and the loaded data) in "
        "$SIMLIB_CACHE_DIR or ~/.cache/simlib, keyed by the data, the parameters and "
        "simlib's code; results for other code or data are never read back.",
    )
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    info = sub.add_parser("info", help="where the cache is and how big")
    info.set_defaults(func=cmd_cache_info)
    clear = sub.add_parser("clear", help="delete every result kept on disk")
    clear.set_defaults(func=cmd_cache_clear)
    p.set_defaults(func=cmd_cache_info)
