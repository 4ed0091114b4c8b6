"""Deterministic tiny weights for moshi 0.2.13: tokenizer, LM and Mimi codec, cached on disk.

The files are made with moshi's own constructors and loaded by the unmodified server through
``--config-path --moshi-weight --mimi-weight --tokenizer``.  The LM keeps the real stream layout
(1 text + 8 model audio + 8 user audio codebooks, the real delays), so the server's code paths
are the production ones; only the widths are shrunk, which makes a step cost tens of ms on CPU.

A manifest records a hash of everything that determines the files (builder version, configs,
seed, tokenizer corpus) plus each file's sha256: a second call with the same inputs only reads
the manifest and hashes ~1 MB of files, without importing torch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Bump whenever the code below changes what it writes, so stale caches are rebuilt.
BUILDER_VERSION = 1
SEED = 20240917

CONFIG_NAME = "config.json"
MIMI_CONFIG_NAME = "mimi_config.json"
MOSHI_WEIGHT_NAME = "tiny_moshi.safetensors"
MIMI_WEIGHT_NAME = "tiny_mimi.safetensors"
TOKENIZER_NAME = "tokenizer.model"
MANIFEST_NAME = "manifest.json"

#: The LM's text vocabulary size; the tokenizer must have at least this many pieces, or a
#: sampled id past its end crashes the server's ``id_to_piece``.
TEXT_CARD = 64
#: The server skips text ids 0 and 3; 3 must be SentencePiece's pad so padding stays silent.
TEXT_PADDING_ID = 3

LM_CONFIG: dict[str, Any] = {
    "dim": 32,
    "text_card": TEXT_CARD,
    "existing_text_padding_id": TEXT_PADDING_ID,
    "n_q": 16,
    "dep_q": 8,
    "card": 64,
    "num_heads": 2,
    "num_layers": 1,
    "hidden_scale": 4.125,
    "causal": True,
    "layer_scale": None,
    "context": 3000,
    "max_period": 10000,
    "gating": "silu",
    "norm": "rms_norm_f32",
    "positional_embedding": "rope",
    "depformer_dim": 32,
    "depformer_dim_feedforward": 132,
    "depformer_num_heads": 2,
    "depformer_num_layers": 1,
    "depformer_layer_scale": None,
    "depformer_multi_linear": True,
    "depformer_context": 8,
    "depformer_max_period": 10000,
    "depformer_gating": "silu",
    "depformer_pos_emb": "none",
    "depformer_weights_per_step": True,
    "delays": [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1],
}

MIMI_CONFIG: dict[str, Any] = {
    "sample_rate": 24000,
    "channels": 1,
    "frame_rate": 12.5,
    "seanet": {
        "channels": 1,
        "dimension": 32,
        "causal": True,
        "n_filters": 4,
        "n_residual_layers": 1,
        "activation": "ELU",
        "compress": 2,
        "dilation_base": 2,
        "disable_norm_outer_blocks": 0,
        "kernel_size": 7,
        "residual_kernel_size": 3,
        "last_kernel_size": 3,
        "norm": "none",
        "pad_mode": "constant",
        # 8·6·5·4 = 960 samples per encoder frame (25 Hz), then the real 2× downsampling.
        "ratios": [8, 6, 5, 4],
        "true_skip": True,
    },
    "quantizer": {
        "dimension": 16,
        "n_q": 8,
        "bins": LM_CONFIG["card"],
        "input_dimension": 32,
        "output_dimension": 32,
    },
    "transformer": {
        "d_model": 32,
        "num_heads": 2,
        "num_layers": 1,
        "causal": True,
        "layer_scale": 0.01,
        "context": 250,
        "conv_layout": True,
        "max_period": 10000,
        "gating": "none",
        "norm": "layer_norm",
        "positional_embedding": "rope",
        "dim_feedforward": 64,
        "input_dimension": 32,
        "output_dimensions": [32],
    },
}

#: What the tokenizer is trained on: enough distinct characters and words for 64 pieces.
TOKENIZER_CORPUS = (
    "Hello, how can I help you with your servers today?",
    "The disk on the database host is almost full.",
    "Please restart the web service on the staging cluster.",
    "I checked the logs and found a timeout in the queue worker.",
    "Could you show me the memory usage of every node?",
    "Yes, I will roll back the last deployment now.",
    "No problem, the backup finished twenty minutes ago.",
    "What is the load average on the build machine?",
    "Sure, I am scaling the replicas from three to five.",
    "Thank you, that fixed the broken certificate.",
    "Just a moment while I look at the network graph.",
    "Jobs, quotas, zones and keys: everything looks fine!",
    "Voice operations; explain, confirm, execute or cancel.",
    "Numbers 0 1 2 3 4 5 6 7 8 9 and the end.",
)
TOKENIZER_OPTIONS: dict[str, Any] = {
    "vocab_size": TEXT_CARD,
    "model_type": "unigram",
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": TEXT_PADDING_ID,
    "character_coverage": 1.0,
    # The default NFKC normaliser embeds a 240 KB table; identity keeps the model tiny.
    "normalization_rule_name": "identity",
    # One thread: the unigram trainer's result depends on thread scheduling otherwise.
    "num_threads": 1,
    "minloglevel": 2,
}

#: Spread of the random codebook centroids; moshi initialises them to zero, which makes every
#: code decode to the same (silent) output.
CODEBOOK_SCALE = 0.1


@dataclass(frozen=True)
class TinyModel:
    """Paths of a built tiny model, as ``moshi.server`` takes them on its command line."""

    config: Path
    moshi_weight: Path
    mimi_weight: Path
    tokenizer: Path

    @property
    def data_dir(self) -> Path:
        """The directory holding the files (and the server logs)."""
        return self.config.parent

    def server_args(self) -> list[str]:
        """The ``moshi.server`` options that select these files."""
        return [
            "--config-path",
            str(self.config),
            "--moshi-weight",
            str(self.moshi_weight),
            "--mimi-weight",
            str(self.mimi_weight),
            "--tokenizer",
            str(self.tokenizer),
        ]


def default_data_dir() -> Path:
    """``$VOICEOPS_TINYMOSHI_DIR`` if set, else ``./data/tinymoshi``."""
    return Path(os.environ.get("VOICEOPS_TINYMOSHI_DIR", "data/tinymoshi"))


def build_key() -> str:
    """Hash of every input that determines the built files."""
    inputs = {
        "builder_version": BUILDER_VERSION,
        "seed": SEED,
        "lm": LM_CONFIG,
        "mimi": MIMI_CONFIG,
        "corpus": TOKENIZER_CORPUS,
        "tokenizer": TOKENIZER_OPTIONS,
        "codebook_scale": CODEBOOK_SCALE,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def build_tiny_model(data_dir: Path | None = None) -> TinyModel:
    """Return the tiny model in ``data_dir`` (default :func:`default_data_dir`), building it first
    if the directory holds no complete build of the current inputs.

    Safe to call from several processes at once: builds are serialised by a file lock.
    """
    data_dir = (data_dir if data_dir is not None else default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    model = _paths(data_dir)
    with _locked(data_dir / ".build.lock"):
        if _is_current(data_dir):
            _write_if_changed(model.config, _lm_config_text(data_dir))
            return model
        _say(f"building tiny moshi weights in {data_dir} (first time only, a few seconds)")
        started = time.monotonic()
        _build(data_dir)
        _say(f"tiny moshi weights ready in {time.monotonic() - started:.1f} s")
    return model


def _paths(data_dir: Path) -> TinyModel:
    return TinyModel(
        config=data_dir / CONFIG_NAME,
        moshi_weight=data_dir / MOSHI_WEIGHT_NAME,
        mimi_weight=data_dir / MIMI_WEIGHT_NAME,
        tokenizer=data_dir / TOKENIZER_NAME,
    )


def _say(message: str) -> None:
    # Progress goes to stderr as well as the log: the first build takes seconds and a test run
    # or ``python -m devtools.tinymoshi`` should not look hung.
    log.info(message)
    print(f"[tinymoshi] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: Files whose bytes depend only on the build inputs (config.json also names the data dir).
_HASHED_FILES = (MIMI_CONFIG_NAME, MOSHI_WEIGHT_NAME, MIMI_WEIGHT_NAME, TOKENIZER_NAME)


def _is_current(data_dir: Path) -> bool:
    try:
        manifest = json.loads((data_dir / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("key") != build_key():
        return False
    files = manifest.get("files")
    if not isinstance(files, dict):
        return False
    try:
        return all(_sha256(data_dir / name) == files.get(name) for name in _HASHED_FILES)
    except OSError:
        return False


def _lm_config_text(data_dir: Path) -> str:
    # moshi reads the Mimi config from the path named in the LM config; "file://" forces a local
    # read (anything else is looked up on the Hugging Face hub).  The path is absolute so the
    # server can run from any working directory.
    config = dict(LM_CONFIG, mimi_config_name=f"file://{data_dir / MIMI_CONFIG_NAME}")
    return json.dumps(config, indent=1, sort_keys=True) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        _atomic_write(path, text.encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _build(data_dir: Path) -> None:
    # Heavy imports only here: a cache hit must stay fast and torch-free.
    import torch  # noqa: PLC0415

    (data_dir / MANIFEST_NAME).unlink(missing_ok=True)
    _say("training the SentencePiece vocabulary")
    _atomic_write(data_dir / TOKENIZER_NAME, _train_tokenizer())
    _atomic_write(
        data_dir / MIMI_CONFIG_NAME,
        (json.dumps(MIMI_CONFIG, indent=1, sort_keys=True) + "\n").encode(),
    )
    _atomic_write(data_dir / CONFIG_NAME, _lm_config_text(data_dir).encode())
    with torch.no_grad():
        _say("initialising the Mimi codec")
        _atomic_write(data_dir / MIMI_WEIGHT_NAME, _mimi_weights())
        _say("initialising the LM")
        _atomic_write(data_dir / MOSHI_WEIGHT_NAME, _lm_weights())
    manifest = {
        "builder_version": BUILDER_VERSION,
        "key": build_key(),
        "files": {name: _sha256(data_dir / name) for name in _HASHED_FILES},
    }
    _atomic_write(data_dir / MANIFEST_NAME, (json.dumps(manifest, indent=1) + "\n").encode())


def _train_tokenizer() -> bytes:
    import sentencepiece as spm  # noqa: PLC0415

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TOKENIZER_CORPUS), model_writer=out, **TOKENIZER_OPTIONS
    )
    return out.getvalue()


def _mimi_weights() -> bytes:
    import torch  # noqa: PLC0415
    from moshi.models import loaders  # noqa: PLC0415
    from moshi.quantization.core_vq import EuclideanCodebook  # noqa: PLC0415
    from safetensors.torch import save  # noqa: PLC0415

    torch.manual_seed(SEED)
    mimi = loaders.get_mimi(None, MIMI_CONFIG, device="cpu", num_codebooks=LM_CONFIG["dep_q"])
    generator = torch.Generator().manual_seed(SEED + 1)
    for module in mimi.modules():
        if isinstance(module, EuclideanCodebook):
            shape = module.embedding_sum.shape
            module.embedding_sum.copy_(CODEBOOK_SCALE * torch.randn(shape, generator=generator))
            module.cluster_usage.fill_(1.0)
            module._initialized.fill_(1.0)
    return bytes(save(_contiguous(mimi.state_dict())))


def _lm_weights() -> bytes:
    import torch  # noqa: PLC0415
    from moshi.models import loaders  # noqa: PLC0415
    from safetensors.torch import save  # noqa: PLC0415

    torch.manual_seed(SEED + 2)
    lm = loaders.get_moshi_lm(None, lm_kwargs=LM_CONFIG, device="cpu", dtype=torch.bfloat16)
    return bytes(save(_contiguous(lm.state_dict())))


def _contiguous(state: dict[str, Any]) -> dict[str, Any]:
    # safetensors refuses views and shared storage; a private contiguous copy of each is safe.
    return {name: tensor.detach().clone().contiguous() for name, tensor in state.items()}
