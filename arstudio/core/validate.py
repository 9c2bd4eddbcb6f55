"""Checks of untrusted values: JSON of a bounded depth, numbers that are finite and in range, model configs
typed as their dataclass says, before anything is built from them.

Every check raises ``ValueError`` (or the caller's subclass) with one line that names the value
and what is wrong with it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import types
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

MAX_DEPTH = 32  # nesting of any JSON we read (metadata, recipes, configs); ours stays under 6
MAX_INT = 1 << 24  # any size in a config (units, channels, vocabulary, context)
MAX_COUNT = 1024  # layers, heads, masks, orderings, mixture components
MAX_LIST = 64  # entries of a list setting (hidden sizes, an image shape)
MAX_SEED = 2**63 - 1
COUNT_KEYS = ("layers", "n_layer", "n_head", "num_masks", "num_orderings", "components", "mixtures")
AT_LEAST_ONE = ("n_head", "n_embd", "vocab_size", "block_size", "num_masks", "num_orderings", "components", "mixtures",
                "kernel", "first_kernel")


def loads(text: str | bytes, source: str, max_depth: int = MAX_DEPTH, cls: type[Exception] = ValueError,
          sep: str = ": ") -> Any:
    """``json.loads`` that refuses nesting deeper than ``max_depth`` and says so in one line naming ``source``.

    ``sep`` joins ``source`` and the reason: ": " after a path, " " after words ("its metadata is ...").
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise cls(f"{source}{sep}is nested too deeply to read") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise cls(f"{source}{sep}is not valid JSON ({getattr(e, 'msg', e)})") from None
    if depth(value) > max_depth:
        raise cls(f"{source}{sep}is nested more than {max_depth} levels deep")
    return value


def depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, tuple, dict)):
            deepest = max(deepest, d + 1)
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def is_int(v: Any) -> bool:
    """True for a whole number given as one (not a bool, not 2.0, not "3"); numpy integers count."""
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def is_number(v: Any) -> bool:
    """True for an int or float, numpy's included (not a bool)."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def number(v: Any, name: str, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           integer: bool = False) -> float:
    """``v`` checked as a finite number (a whole number if ``integer``) in [lo, hi] (``lo_open``: (lo, hi])."""
    if not (is_int(v) if integer else is_number(v)):
        raise ValueError(f"{name} must be {'a whole number' if integer else 'a number'}, got {_show(v)}")
    if not integer and not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {_num(lo)}, got {v}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {_num(hi)}, got {v}")
    return v


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) and abs(x) < 10**6 else "2**63 - 1" if x == MAX_SEED else f"{x:g}"


def _show(v: Any) -> str:
    s = repr(v)
    return (s[:40] + "…") if len(s) > 40 else s + f" ({type(v).__name__})"


# ---- model configs ----------------------------------------------------------------------------------------
def _int_limit(key: str) -> int:
    return MAX_COUNT if key in COUNT_KEYS else MAX_SEED if key == "seed" else MAX_INT


def _check_value(key: str, v: Any, tp: Any, owner: str) -> None:
    """One config entry against its annotated type; ranges for sizes (>= 0, sane maxima) and floats (finite)."""
    name = f"{owner} config {key!r}"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _check_value(key, v, rest[0], owner)
        return
    if tp is bool:
        if not isinstance(v, bool):
            raise ValueError(f"{name} must be true or false, got {_show(v)}")
    elif tp is int:
        number(v, name, 1 if key in AT_LEAST_ONE else 0, _int_limit(key), integer=True)
    elif tp is float:
        number(v, name, 0)
        if key == "dropout" and not v < 1:
            raise ValueError(f"{name} must be below 1, got {v}")
        if "eps" in key and not v > 0:
            raise ValueError(f"{name} must be > 0, got {v}")
    elif tp is str:
        if not isinstance(v, str) or len(v) > 200:
            raise ValueError(f"{name} must be a short string, got {_show(v)}")
    elif origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(v, (list, tuple)) or len(v) > MAX_LIST:
            raise ValueError(f"{name} must be a list of at most {MAX_LIST} entries, got {_show(v)}")
        inner = args[0] if args else None
        for i, x in enumerate(v):
            if inner is int or inner is None:
                number(x, f"{name}[{i}]", 0, MAX_INT, integer=True)
    elif origin is dict or tp is dict:
        if not isinstance(v, dict):
            raise ValueError(f"{name} must be a JSON object, got {_show(v)}")


def check_config(config_class: type, config: Mapping[str, Any], owner: str) -> None:
    """Every entry of ``config`` typed as ``config_class`` declares it: ints are whole numbers (not 2.7, "3" or
    true) from 0 to a sane maximum, floats finite, lists short; ValueError names the first bad entry.

    Unknown keys are left to the config dataclass, which names them.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"the {owner} config must be a JSON object, got {_show(config)}")
    if not dataclasses.is_dataclass(config_class):
        return
    try:
        hints = typing.get_type_hints(config_class)
    except Exception:  # an annotation that does not resolve: leave the checks to the class
        return
    for key, v in config.items():
        if not isinstance(key, str):
            raise ValueError(f"the {owner} config has a non-string key {_show(key)}")
        if key in hints:
            _check_value(key, v, hints[key], owner)
    shape = config.get("shape")
    if isinstance(shape, (list, tuple)) and all(is_int(s) for s in shape) and math.prod(shape) > MAX_INT:
        raise ValueError(f"the {owner} config's shape {list(shape)} has more than {MAX_INT} values")


# ---- tensors ----------------------------------------------------------------------------------------------
FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MAX_DIMS = 8


def tensor_entry_problem(name: str, entry: Any, data_len: int) -> str | None:
    """What is wrong with one safetensors header entry (dtype, shape, data offsets agreeing), or None."""
    if not isinstance(entry, dict):
        return f"tensor {name!r} is described by {_show(entry)}, not an object"
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        return f"tensor {name!r} has no known dtype ({_show(dtype)})"
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(is_int(s) and s >= 0 for s in shape):
        return f"tensor {name!r} has no valid shape ({_show(shape)})"
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(is_int(o) for o in offsets)):
        return f"tensor {name!r} has no valid data offsets"
    start, end = offsets
    if not 0 <= start <= end <= data_len:
        return f"tensor {name!r} lies past the end of the file (truncated: needs {end} data bytes, has {data_len})"
    if end - start != math.prod(shape) * DTYPE_BYTES[dtype]:
        return f"tensor {name!r} has {end - start} bytes of data, its shape {shape} of {dtype} needs " \
               f"{math.prod(shape) * DTYPE_BYTES[dtype]}"
    return None


# ---- values a model generates -----------------------------------------------------------------------------
def check_values(space: Any, values: Any, what: str) -> None:
    """``values`` (a number, list, array or tensor) lie in the value space ``space`` (an ``arstudio.core.spec``
    ValueSpace): whole numbers 0..n-1 when discrete, finite numbers when continuous (a continuous model's
    own samples, e.g. a Gaussian mixture's, may fall a little outside its nominal interval)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().double().numpy()
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers, got {_show(values)}") from None
    if a.size == 0:
        return
    if not np.isfinite(a).all():
        raise ValueError(f"{what} must be finite numbers")
    if space.discrete:
        if (a != np.round(a)).any() or a.min() < 0 or a.max() > space.n - 1:
            bad = a[(a != np.round(a)) | (a < 0) | (a > space.n - 1)].reshape(-1)[0]
            raise ValueError(f"{what} must be whole numbers from 0 to {space.n - 1}, got {bad:g}")
