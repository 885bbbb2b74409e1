"""Checkpoints: the project's safetensors format and the course's `torch.save(state_dict)`.

Own format: a safetensors file whose metadata holds `format`, the model `config` (JSON),
`vocab_sha256` and free-form `info` (JSON: recipe, steps, faithful, ...).
Course format: a state dict with the course's parameter names and `attn.mask` buffers,
read with `torch.load(weights_only=True)`; the variant, bottleneck size, depth, width
and block size are inferred from its keys and shapes (the head count cannot be, and
defaults to MODEL.md's 8).

Training state (optimizer, schedule position, RNG states) lives beside the model in a
`torch.save` file read back with weights_only=True. Every write is atomic. Every read is of a
regular file of at most checkpoint_checks.MAX_BYTES, and a model is allocated only once its
config and tensors have passed models.checkpoint_checks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .data import Vocab
from .checkpoint_checks import MAX_BYTES, check_tensors, config_from_dict, metadata_object
from .fileio import UserError, atomic_path, require_file
from .model import GPT, GPTConfig

FORMAT = "attnlab-gpt/1"
_BLOCK_KEY = re.compile(r"^blocks\.(\d+)\.")


def describe(config: GPTConfig) -> str:
    qk = " with qk_norm" if config.qk_norm else ""
    if config.variant == "perceiver":
        return f"perceiver{qk} (m={config.bottleneck_dim}, wiring {config.perceiver_wiring})"
    return "vanilla" + qk


# ---------------------------------------------------------------------------- saving


def save_model(path, model: GPT, vocab: Vocab, info: dict | None = None) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "config": json.dumps(model.config.to_dict()),
                "vocab_sha256": vocab.sha256, "info": json.dumps(info or {})}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def save_train_state(path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_train_state(path) -> dict:
    p = require_file(path, "training state", MAX_BYTES)
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, wrong pickle, ...
        raise UserError(f"not a readable training state ({_first_line(e)})", p) from None


# ---------------------------------------------------------------------------- loading


def _first_line(e: Exception) -> str:
    """The first line of an exception's message, without terminal escape codes, whole."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(e)).strip().splitlines()
    return text[0] if text else type(e).__name__


def _is_safetensors(p: Path) -> bool:
    """A safetensors file: an 8-byte little-endian header length N, then N bytes of JSON that open
    with "{", all inside the file. (Its first byte is N's lowest byte and may be anything, e.g.
    0x80 or "P", so a torch file cannot be told from its first bytes alone.)"""
    with open(p, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    return head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= p.stat().st_size


def _is_torch_file(p: Path) -> bool:
    """torch.save's formats: a zip archive ("PK") or a legacy pickle (protocol opcode 0x80)."""
    if _is_safetensors(p):
        return False
    with open(p, "rb") as f:
        head = f.read(4)
    return head[:2] == b"PK" or head[:1] == b"\x80"


def infer_config(state: dict, path, n_head: int = 8, perceiver_wiring: str = "default") -> GPTConfig:
    """A GPTConfig from a course-format state dict's keys and shapes."""
    for key in ("tok_emb.weight", "pos_emb", "head.weight"):
        if key not in state:
            raise UserError(f"not a course-format state dict: no '{key}'", path)
    try:
        vocab_size, n_embd = state["tok_emb.weight"].shape
        _, block_size, _ = state["pos_emb"].shape
        bottleneck = state["down_block.C"].shape[1] if "down_block.C" in state else GPTConfig.bottleneck_dim
    except (ValueError, IndexError):
        raise UserError("not a course-format state dict: tok_emb.weight, pos_emb or down_block.C has another "
                        "number of dimensions", path) from None
    n_blocks = len({int(m.group(1)) for k in state if (m := _BLOCK_KEY.match(k))})
    if "down_block.C" in state:
        variant, n_layer = "perceiver", n_blocks + 2
    else:
        variant, n_layer = "vanilla", n_blocks
    return config_from_dict(dict(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head,
                                 n_embd=n_embd, variant=variant, bottleneck_dim=bottleneck, perceiver_wiring=perceiver_wiring),
                            path, "as its tensors show it")


# The classes a pickled state dict of tensors may name (torch.save(model.state_dict())).
_STATE_DICT_GLOBALS = re.compile(r"^(collections OrderedDict|torch\._utils _rebuild\w*|torch \w*Storage|"
                                 r"torch \w*(Tensor|dtype|device|Size)|torch\.serialization \w+|torch \w+_dtype|"
                                 r"builtins (set|frozenset|slice))$")
RESAVE = ("re-save it as a state dict where the model class exists: torch.save(model.state_dict(), 'model.pt'), "
          "then load that file")


def pickled_globals(p: Path) -> list[str]:
    """The "module name" globals a torch.save file's pickle refers to, read with pickletools
    (the pickle's opcodes are listed, never executed). [] when the file is not a readable pickle."""
    import io
    import pickletools
    import zipfile
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                name = next((n for n in z.namelist() if n.endswith("data.pkl")), None)
                data = z.read(name) if name else b""
        else:
            data = p.read_bytes()
        found, strings = [], []
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(arg)
            elif op.name == "GLOBAL":
                found.append(arg)
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]} {strings[-1]}")
            elif op.name == "STOP":
                break
        return found
    except Exception:  # noqa: BLE001 - a file pickletools cannot list is judged by torch.load below
        return []


def strip_wrapper_prefix(state: dict) -> tuple[dict, str]:
    """A state dict whose keys all carry a wrapper's prefix (DataParallel's "module.",
    torch.compile's "_orig_mod.", or both) as the unwrapped model's, and the prefix removed."""
    removed = ""
    while state:
        prefix = next((x for x in ("module.", "_orig_mod.") if all(k.startswith(x) for k in state)), None)
        if prefix is None:
            break
        state = {k[len(prefix):]: v for k, v in state.items()}
        removed += prefix
    return state, removed


def _read(p: Path):
    """(state dict, config or None, metadata or None) of either format. A torch file that pickles
    anything but tensors (a whole model, torch.save(model)) is refused before it is unpickled."""
    if _is_torch_file(p):
        foreign = [g for g in pickled_globals(p) if not _STATE_DICT_GLOBALS.match(g)]
        if foreign:
            raise UserError(f"is a pickled object, not a state dict of tensors (it names {foreign[0].replace(' ', '.')}, "
                            f"as torch.save(model) writes); it was not unpickled, since that would run code from "
                            f"the file: {RESAVE}", p)
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as e:
            raise UserError(f"truncated or not a checkpoint ({_first_line(e)})", p) from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise UserError(f"not a state dict of tensors: {RESAVE}", p)
        return state, None, None
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
        if meta.get("format") != FORMAT:
            return state, None, None  # a safetensors state dict without our metadata: treat as course format
        return state, config_from_dict(metadata_object(meta, "config", p), p), meta
    except (SafetensorError, OSError, ValueError, RuntimeError, KeyError, TypeError) as e:
        raise UserError(f"truncated or not a checkpoint ({_first_line(e)})", p) from None


def load_model(path, vocab: Vocab, *, variant: str | None = None, bottleneck_dim: int | None = None,
               perceiver_wiring: str | None = None, n_head: int | None = None) -> tuple[GPT, dict]:
    """Load either format into a GPT (on the CPU, eval mode) and return (model, info).

    variant / bottleneck_dim / perceiver_wiring, when given, are what the caller expects:
    a checkpoint that is something else is an error, never silently converted. For a
    course-format file, perceiver_wiring and n_head (which its tensors cannot show) are taken
    as given, else MODEL.md's (default wiring, 8 heads), and info says which ("n_head_source").
    A state dict saved through a wrapper (keys "module." or "_orig_mod.") loads as the unwrapped
    one (info "stripped_prefix"). An own-format file stores its head count; an n_head that
    disagrees with it is an error, since the head count changes the logits.
    """
    p = require_file(path, "checkpoint", MAX_BYTES)
    state, config, meta = _read(p)
    if config is None:
        state, removed = strip_wrapper_prefix(state)
        state = {k: v for k, v in state.items() if not k.endswith("attn.mask")}
        config = infer_config(state, p, n_head or 8, perceiver_wiring or "default")
        info = {"format": "course", "n_head": config.n_head,
                "n_head_source": "given" if n_head else "assumed: MODEL.md's 8 (a course state dict does not show it)"}
        if removed:
            info["stripped_prefix"] = removed
        if config.vocab_size != len(vocab):
            raise UserError(f"has a vocabulary of {config.vocab_size} characters, this data's has "
                            f"{len(vocab)}: another vocabulary", p)
    else:
        info = {"format": "attnlab", **metadata_object(meta, "info", p, "{}")}
        if meta.get("vocab_sha256") != vocab.sha256:
            raise UserError("was trained with another vocabulary (its vocab_sha256 differs from "
                            "this data's wiki.txt)", p)
        if n_head is not None and n_head != config.n_head:
            raise UserError(f"stores n_head {config.n_head} in its config, but {n_head} was given: the head count "
                            "changes the logits, so the stored one is used only as stored", p)
        info["n_head_source"] = "stored config"
        if perceiver_wiring is not None and config.variant == "perceiver" \
                and perceiver_wiring != config.perceiver_wiring:
            raise UserError(f"is a {describe(config)} checkpoint, but wiring {perceiver_wiring} was asked for", p)
    if variant is not None and variant != config.variant:
        raise UserError(f"is a {describe(config)} checkpoint, but {variant} was asked for", p)
    if bottleneck_dim is not None and config.variant == "perceiver" and bottleneck_dim != config.bottleneck_dim:
        raise UserError(f"is a {describe(config)} checkpoint, but bottleneck size {bottleneck_dim} "
                        "was asked for", p)
    check_tensors(config, state, p, describe(config))  # before the model is allocated
    model = GPT(config)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, info
