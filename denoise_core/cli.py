"""Command line: ``python -m denoise_core COMMAND ...``.

Each command is one ``cmd_*`` function plus its arguments in ``build_parser``. Expected failures
(``DenoiseError``, unreadable files, bad arguments) print one line to stderr and exit with code 2;
``--json`` prints one JSON document on stdout. The benchmark, its store (pandas) and training (torch)
load in the commands that use them, so ``list`` and the classical commands start fast.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import pipeline, registry, weights
from .apply import add_noise, denoise, resolve
from .datasets import image_files
from .errors import DenoiseError, InvalidParameterError, one_line
from .classifier.inference import predict
from .image import read_image, save_image
from .metrics import measure, unavailable
from .paths import TRAIN_DATA, write_atomically
from .timing import timed
from .training import LOSSES, SCHEDULES, NoiseSpec, TrainConfig
from .volume import denoise_volume, measure_volume
from .weights import DENOISERS, MIRROR_ENV, sha256
from .weights.download import HASH_NOTES, Progress

EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> None:
        raise DenoiseError(f"{self.prog}: {message}")


def _print_json(document: object) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _save(path: str, image, meta) -> None:
    save_image(path, image, meta=meta, bit_depth=None)


def _slice_number(text: str) -> int:
    """``--slice``: a 0-based slice number of a volume."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a slice number (0, 1, 2, ...), got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"slice numbers start at 0, got {value}")
    return value


SLICE = {"type": _slice_number, "metavar": "N",
         "help": "0-based slice of a volume (NIfTI, multi-frame DICOM); default: the middle one"}


def cmd_list(args: argparse.Namespace) -> None:
    entries = registry.methods(args.kind)
    if args.json:
        _print_json([{"name": m.name, "kind": m.kind, "family": m.family, "title": m.title,
                      "summary": m.summary, "auto": m.auto is not None,
                      "params": [{"name": p.name, "type": type(p).__name__, "default": p.default,
                                  "help": p.help} for p in m.params]} for m in entries])
        return
    for m in entries:
        params = ", ".join(f"{p.name}={p.default}" for p in m.params)
        print(f"{m.kind:9} {m.name:16} {m.summary}" + (f"  [{params}]" if params else ""))


def cmd_noise(args: argparse.Namespace) -> None:
    image, meta = read_image(args.input, slice=args.slice)
    params = registry.get(args.model, "noise").parse(args.set)
    _save(args.output, add_noise(image, args.model, params, seed=args.seed), meta)


def cmd_denoise(args: argparse.Namespace) -> None:
    method = registry.get(args.method, "denoiser")
    if args.volume:
        _denoise_volume(args, method.parse(args.set))
        return
    image, meta = read_image(args.input, slice=args.slice)
    used = resolve(method, image, method.parse(args.set))
    result, seconds = timed(lambda: denoise(image, args.method, used, auto=False))
    _save(args.output, result, meta)
    print(f"{args.method} {json.dumps(used)} in {seconds:.2f} s -> {args.output}", file=sys.stderr)


def _denoise_volume(args: argparse.Namespace, params: dict) -> None:
    """``denoise --volume``: every slice, a progress bar on stderr from the first slice on (a refusal before it
    stays one line); Ctrl-C leaves no output file."""
    from tqdm import tqdm
    bars = []

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(desc=args.method, total=total, unit="slice", file=sys.stderr, leave=False))
        bars[0].update(done - bars[0].n)
    try:
        result = denoise_volume(args.input, args.output, args.method, params, progress=progress)
    except KeyboardInterrupt:
        print(f"interrupted: nothing written to {args.output}", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        for bar in bars:
            bar.close()
    distinct = {json.dumps(used, sort_keys=True) for used in result.params}
    used = distinct.pop() if len(distinct) == 1 else "(parameters per slice, from its noise level)"
    print(f"{args.method} {used} on {result.slices} slices in {result.seconds:.2f} s -> {args.output}",
          file=sys.stderr)


def cmd_pipeline(args: argparse.Namespace) -> None:
    image, meta = read_image(args.input, slice=args.slice)
    sharpen = {} if args.sharpen else None
    result = pipeline.run(image, noise_type=args.type, denoisers=args.denoiser, sharpen=sharpen, sr=args.sr,
                          sr_method=args.sr_method, modality=meta.modality)
    _save(args.output, result.image, meta)
    if args.json:
        _print_json(result.record())
        return
    for stage in result.record()["stages"]:
        print(f"{stage['stage']:9} {stage['method']:22} {stage['seconds']:7.2f} s  {stage['reason']}")
    print(f"-> {args.output}", file=sys.stderr)


def cmd_metrics(args: argparse.Namespace) -> None:
    if args.volume:
        _metrics_volume(args)
        return
    (reference, _), (image, _) = read_image(args.reference, slice=args.slice), read_image(args.image, slice=args.slice)
    values = measure(reference, image)
    if args.json:
        _print_json(values)
    else:
        for name, value in values.items():
            print(f"{registry.get(name, 'metric').title:12} {value:.4f}")
        for reason in unavailable().values():
            print(reason, file=sys.stderr)


def _metrics_volume(args: argparse.Namespace) -> None:
    """``metrics --volume``: PSNR and SSIM per slice and of the whole volume."""
    values = measure_volume(args.reference, args.image)
    if args.json:
        _print_json(values)
        return
    print(f"{'slice':>6} {'PSNR (dB)':>10} {'SSIM':>7}")
    for row in values["slices"]:
        print(f"{row['slice']:>6} {row['psnr']:10.2f} {row['ssim']:7.4f}")
    print(f"{'volume':>6} {values['volume']['psnr']:10.2f} {values['volume']['ssim']:7.4f}")


def cmd_classify(args: argparse.Namespace) -> None:
    image, _ = read_image(args.input, slice=args.slice)
    try:
        result = predict(image)
    except DenoiseError as error:  # e.g. below the classifier's 32×32: say which file
        raise DenoiseError(f"{args.input}: {error}") from None
    if args.json:
        _print_json(result)
        return
    print(f"{'noise type':12} probability")
    for name, probability in sorted(result["probabilities"].items(), key=lambda item: -item[1]):
        print(f"{name:12} {probability:11.1%}" + ("  <- type" if name == result["type"] else ""))
    print("level: " + ", ".join(f"{name} {value:.4g}" for name, value in result["level"].items()))


def cmd_calibrate(args: argparse.Namespace) -> None:
    """Tune a method on the noisy image alone (``calibrate.calibrate``), a progress bar on stderr."""
    from tqdm import tqdm

    from .calibrate import calibrate, point_label, tuned_params
    tuned_params(registry.get(args.method, "denoiser"))  # nothing to tune: refused before reading
    noisy, _ = read_image(args.input)
    clean = read_image(args.clean)[0] if args.clean else None
    bars = []

    def progress(done: int, total: int) -> None:
        if not bars:  # from the first point on: a refusal before it stays one line
            bars.append(tqdm(desc=f"calibrating {args.method}", total=total, unit="point", file=sys.stderr, leave=False))
        bars[0].update(done - bars[0].n)
    try:
        result = calibrate(noisy, args.method, clean=clean, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    if args.json:
        _print_json(result.record())
        return
    print(f"{'point':28} {'loss':>11}" + (f" {'PSNR (dB)':>10}" if clean is not None else ""))
    for row in sorted(result.grid, key=lambda row: [row[name] for name in result.tuned]):
        print(f"{point_label(row, result.tuned):28} {row['loss']:11.4e}" + (f" {row['psnr']:10.2f}" if clean is not None else ""))
    chosen = point_label(result.chosen, result.tuned)
    print(f"chosen (least self-supervised loss): {json.dumps(result.chosen)}")
    if clean is not None:
        print(f"PSNR: chosen {chosen} {result.chosen_psnr:.2f} dB; oracle {point_label(result.oracle, result.tuned)} "
              f"{result.oracle_psnr:.2f} dB; auto {point_label(result.auto, result.tuned)} {result.auto_psnr:.2f} dB")

def cmd_forensics(args: argparse.Namespace) -> None:
    """What kind of noise, how strong, and the evidence (``denoise_core.forensics``)."""
    from . import forensics
    noisy, _ = read_image(args.input, slice=args.slice)
    clean = read_image(args.clean, slice=args.slice)[0] if args.clean else None
    try:
        report = forensics.analyse(noisy, clean, block=args.block)
    except DenoiseError as error:
        raise DenoiseError(f"{args.input}: {error}") from None
    if args.json:
        _print_json(forensics.summary(report))
        return
    print(forensics.verdict(report))
    print(f"residual against {report.estimate}")
    for row in forensics.fit_rows(report):
        score = f"BIC {row['bic']:.1f}" if row["bic"] is not None else f"KS {row['ks']:.4f}, {row['loglik']:.3f} nats/pixel"
        error = "" if row["error"] is None else f" ± {row['error']:.3g}"
        print(f"{row['analysis']:13} {row['model']:9} {row['parameter']:10} {row['value']:.4g}{error}  ({score})")
    spec, grid = report.spectrum, report.grid
    print(f"spectral flatness {spec.flatness:.3f} (1 = white), neighbour correlation {spec.neighbour:.3f}; "
          f"JPEG grid {'detected' if grid.detected else 'not detected'} (jumps ×{grid.ratios[0]:.3g}, ×{grid.ratios[1]:.3g}; "
          f"×{grid.threshold:.3g} needed)")


def cmd_confusion(args: argparse.Namespace) -> None:
    """The noise classifier's confusion matrix on held-out images (torch loads here)."""
    from pathlib import Path

    from .classifier.training import report
    from .forensics import confusion
    from .paths import write_atomically
    source, files = confusion.held_out()
    matrix = confusion.measure(files, per_class=args.per_class, seed=args.seed)
    doc = confusion.document(source, files, matrix, per_class=args.per_class, crop=confusion.CROP, seed=args.seed)
    if args.out:
        write_atomically(Path(args.out), lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1) + "\n"))
    if args.json:
        _print_json(doc)
    else:
        print(f"held out: {source} ({len(files)} images), {args.per_class} crops per class\n{report(matrix)}")


def cmd_train_classifier(args: argparse.Namespace) -> None:
    """Train the noise-type classifier (torch loads only here)."""
    import torch

    from .classifier.training import train
    torch.set_num_threads(args.threads)
    train(out=args.out, data=args.data, per_class=args.per_class, val_images=args.val_images,
          val_per_class=args.val_per_class, hidden=args.hidden, epochs=args.epochs, seed=args.seed)


def cmd_eval(args: argparse.Namespace) -> None:
    from .benchmark import evaluate, summarise
    method = registry.get(args.method, "denoiser")
    noise = registry.get(args.noise, "noise")
    noise_params = noise.parse(args.noise_set)
    if args.sigma is not None:
        noise_params["sigma"] = noise.param("sigma").check(args.sigma / 255)
    files = image_files(args.data, args.limit)
    rows = []
    for row in evaluate(method.name, files, noise=noise.name, noise_params=noise_params,
                        params=method.parse(args.set), blind=args.blind):
        rows.append(row)
        if not args.json:
            print(f"{row['image']:24} PSNR {row['psnr']:6.2f} dB  SSIM {row['ssim']:.4f}  {row['seconds']:6.2f} s",
                  file=sys.stderr)
    summary = {"method": method.name, "data": str(args.data), "noise": noise.name,
               "noise_params": noise_params, "sigma_255": args.sigma, "blind": args.blind,
               **summarise(rows), "rows": rows}
    if args.json:
        _print_json(summary)
    else:
        print(f"{method.name} on {args.data} ({summary['images']} images, {noise.name} {noise_params}): "
              f"PSNR {summary['psnr']:.2f} dB  SSIM {summary['ssim']:.4f}  "
              f"median {summary['seconds_median']:.2f} s/image")


def cmd_bench(args: argparse.Namespace) -> None:
    """Run a config into the store; a second ``bench`` of the same config on the same store is
    refused while the first runs (``Store.begin``). An unavailable metric is named before the run
    and its column stays empty with the reason; the other metrics are computed."""
    from tqdm import tqdm

    from .benchmark import leaderboard, load_config, run
    from .benchmark.report import export, export_format
    from .benchmark.store import Store
    out_format = export_format(args.out) if args.out else None
    config, store = load_config(args.config), Store(args.db)
    for name, reason in unavailable().items():
        if name in config["metrics"]:
            print(f"note: {reason}; its column stays empty", file=sys.stderr)
    with tqdm(desc="bench", unit="task", file=sys.stderr, disable=args.json) as bar:
        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()
        try:
            table = run(config, workers=args.workers, scheduler=args.scheduler, store=store, progress=progress)
        except KeyboardInterrupt:
            print(f"interrupted: finished rows are kept in {store.path}; run the same command to resume",
                  file=sys.stderr)
            raise SystemExit(130) from None
    run_id, board = table.attrs["run_id"], leaderboard(table)
    files = export(store, run_id, out_format, args.out) if args.out else []
    if args.json:
        _print_json({"run_id": run_id, "db": str(store.path), "rows": len(table), "errors": int(table["error"].notna().sum()),
                     "files": [str(f) for f in files], "leaderboard": json.loads(board.reset_index().to_json(orient="records"))})
    else:
        print(board.round(4).to_string())
        print(f"run {run_id} in {store.path}: {len(table)} rows, {table['error'].notna().sum()} failed"
              + "".join(f"; wrote {f}" for f in files[:1]), file=sys.stderr)


def cmd_sweep(args: argparse.Namespace) -> None:
    """One noise level swept over a range × methods × the images of a folder × seeds, through the benchmark
    engine and its store; the tidy rows on stdout, the crossovers on stderr."""
    from tqdm import tqdm

    from .benchmark.store import Store
    from .benchmark.sweep import (crossovers, parse_range, range_levels, records, run_sweep, summary,
                                  sweep_config)
    param = args.param or getattr(registry.get(args.noise, "noise").level, "param", "")
    levels = range_levels(args.noise, registry.get(args.noise, "noise").param(param).name, *parse_range(args.range))
    config = sweep_config(noise=args.noise, param=param, levels=levels, methods=args.methods,
                          images=[{"folder": args.data}], seeds=args.seeds, max_size=args.size, limit=args.limit,
                          metrics=args.metrics)
    with tqdm(desc="sweep", unit="task", file=sys.stderr, disable=args.json, delay=1) as bar:
        def progress(state) -> None:
            bar.total, bar.n = state.total, state.done
            bar.set_postfix_str(", ".join(state.running))
        rows = run_sweep(config, workers=args.workers, store=Store(args.db), progress=progress)
    if args.json:
        _print_json({"rows": records(rows)})
        return
    print(rows.to_string(index=False))
    for metric in config["metrics"]:
        for found in crossovers(summary(rows, metric), metric).itertuples():
            print(f"crossover {metric}: {found.ahead} overtakes {found.behind} at level {found.level:.3g} "
                  f"({found.between})", file=sys.stderr)


def cmd_runs(args: argparse.Namespace) -> None:
    from .benchmark import leaderboard
    from .benchmark.report import export
    from .benchmark.store import Store
    store = Store(args.db)
    if args.action == "list":
        found = store.runs()
        if args.json:
            print(found.to_json(orient="records", indent=2))
        else:
            print(found.to_string(index=False) if len(found) else f"no runs yet in {store.path}")
    elif args.action == "show":
        info, board = store.info(args.id), leaderboard(store.results(args.id))
        if args.json:
            _print_json({**info, "leaderboard": json.loads(board.reset_index().to_json(orient="records"))})
        else:
            print(f"run {info['id']} {info['name']}: {info['status']}, started {info['started']}, {info['engine']}")
            print(board.round(4).to_string())
    elif args.action == "compare":
        print(store.compare(args.first, args.second, args.metric).round(4).to_string())
    elif args.action == "export":
        for path in export(store, args.id, args.format, args.out):
            print(path)
    else:
        store.delete(args.id)
        print(f"deleted run {args.id} from {store.path}", file=sys.stderr)


def cmd_bundle(args: argparse.Namespace) -> None:
    """``bundle verify``: exit 0 when every number matches, 1 when some differ (each named), 2 when the bundle
    cannot be read or reproduced here; ``bundle export``: a stored benchmark run as a bundle."""
    from .bundle import benchmark_bundle, verify_bundle
    if args.action == "export":
        from .benchmark.store import Store
        data = benchmark_bundle(Store(args.db), args.id, outputs=args.outputs)
        write_atomically(Path(args.out), lambda temporary: Path(temporary).write_bytes(data))
        print(f"wrote {args.out} ({len(data):,} bytes)", file=sys.stderr)
        return
    found = verify_bundle(args.file)
    if args.json:
        _print_json({"file": args.file, **found.as_dict()})
    else:
        for number in found.differing:
            print(f"differs: {number['image']} {number['noise']} {number['level']:g} seed {number['seed']} "
                  f"{number['method']} {number['metric']}: recorded {number['recorded']:.6g}, recomputed "
                  + (f"{number['recomputed']:.6g}" if number["recomputed"] is not None else number.get("error", "nothing")))
        print(found.summary())
    if not found.ok:
        raise SystemExit(1)


def _range(item: str) -> tuple[str, tuple]:
    """``NAME=LO:HI`` or ``NAME=LO:HI:log`` -> (name, (lo, hi[, "log"]))."""
    name, sep, text = item.partition("=")
    parts = text.split(":")
    if not sep or len(parts) not in (2, 3) or parts[2:] not in ([], ["log"]):
        raise InvalidParameterError(f"'--range {item}': expected NAME=LO:HI or NAME=LO:HI:log, e.g. sigma=0:0.2157")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidParameterError(f"'--range {item}': LO and HI must be numbers") from None
    if parts[2:] and (lo <= 0 or hi <= 0):
        raise InvalidParameterError(f"'--range {item}': a log range needs LO and HI above 0")
    return name.strip(), (lo, hi, *parts[2:])


def _assignments(items: list[str], what: str) -> dict:
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise InvalidParameterError(f"'{what} {item}': expected NAME=VALUE")
        try:
            values[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            values[name.strip()] = text.strip()
    return values


class _InOrder(argparse.Action):
    """Keeps the noise options in command-line order: each applies to the ``--noise`` before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), (option_string, values)])


def _noise_specs(items: list[tuple[str, str]]) -> list[NoiseSpec]:
    """The ``NoiseSpec`` mix described by the noise options, in order (Gaussian 0–55 when none)."""
    specs: list[dict] = []
    for option, value in items:
        if option == "--noise" or not specs:
            specs.append({"model": value if option == "--noise" else "gaussian", "params": {}, "ranges": None,
                          "val": {}, "pool": 0, "weight": 1.0})
        spec = specs[-1]
        if option == "--noise-set":
            spec["params"].update(_assignments([value], option))
        elif option == "--range":
            name, bounds = _range(value)
            spec["ranges"] = {**(spec["ranges"] or {}), name: bounds}
        elif option == "--val-set":
            spec["val"].update(_assignments([value], option))
        elif option == "--weight":
            spec["weight"] = value
        elif option == "--pool":
            if value < 0:
                raise InvalidParameterError(f"--pool {value}: expected 0 or more noisy copies per image")
            spec["pool"] = value
    for spec in specs:
        if spec["ranges"] is None:
            spec["ranges"] = {"sigma": (0.0, 55 / 255)} if spec["model"] == "gaussian" else {}
        spec["val"] = spec["val"] or None
    return [NoiseSpec(**spec) for spec in specs] or TrainConfig().noises


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` command's arguments to ``parser`` (used by ``python -m denoise_core train``)."""
    d = TrainConfig()
    parser.add_argument("--out", required=True, help="weights path without suffix; writes OUT.safetensors, OUT.csv")
    parser.add_argument("--arch", default=d.arch, choices=DENOISERS)
    parser.add_argument("--arch-set", action="append", default=[], metavar="K=V",
                        help="architecture option, e.g. depth=12, width=64, channels=1, noise_map=true (ffdnet); "
                             "width=32, levels=3, blocks=2, residual=true (drunet)")
    parser.add_argument("--data", default=d.data, help="folder of clean training images")
    parser.add_argument("--val-images", type=int, default=d.val_images,
                        help="last N training images held out for validation")
    parser.add_argument("--init", default=None, help="start from these weights (a name from 'weights list' or a "
                                                      ".safetensors written by train): fine-tuning")
    noise = dict(action=_InOrder, dest="noise_items", default=[])
    parser.add_argument("--noise", **noise, metavar="MODEL",
                        help="registered noise model; repeat for a mix (each patch draws one); the options below "
                             "apply to the --noise before them (default: gaussian with sigma=0:0.2157)")
    parser.add_argument("--noise-set", **noise, metavar="K=V", help="fixed noise parameter")
    parser.add_argument("--range", **noise, metavar="K=LO:HI[:log]",
                        help="noise parameter drawn per patch, uniformly (or log-uniformly)")
    parser.add_argument("--val-set", **noise, metavar="K=V",
                        help="noise parameter for validation (default: middle of each range)")
    parser.add_argument("--weight", **noise, type=float, metavar="W",
                        help="how often patches get this noise, relative to the others of the mix (default 1)")
    parser.add_argument("--pool", **noise, type=int, metavar="N",
                        help="noise each whole training image N times up front (noise that depends on the whole "
                             "image, or slow noise); the network then gets the blind noise estimate as its level")
    parser.add_argument("--patch", type=int, default=d.patch)
    parser.add_argument("--batch", type=int, default=d.batch)
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--schedule", default=d.schedule, choices=SCHEDULES)
    parser.add_argument("--warmup", type=int, default=d.warmup, metavar="STEPS",
                        help="linear learning-rate warm-up (advisable with --init)")
    parser.add_argument("--loss", default=d.loss, choices=LOSSES)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--val-every", type=int, default=d.val_every)
    parser.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    parser.add_argument("--run-dir", default=None, help="checkpoint folder (default OUT.run/)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in the run folder")
    parser.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                        help="mixed precision (float16) on CUDA; on by default there, ignored on the CPU")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--title", default="", help="title shown in the app")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The ``TrainConfig`` that ``args`` (parsed with ``add_train_arguments``) describe."""
    return TrainConfig(out=args.out, arch=args.arch, arch_config=_assignments(args.arch_set, "--arch-set"),
                       init=args.init, data=args.data, val_images=args.val_images,
                       noises=_noise_specs(args.noise_items), patch=args.patch,
                       batch=args.batch, steps=args.steps, max_seconds=args.minutes * 60 if args.minutes else None,
                       lr=args.lr, schedule=args.schedule, warmup=args.warmup, loss=args.loss, seed=args.seed,
                       val_every=args.val_every,
                       checkpoint_every=args.checkpoint_every, run_dir=args.run_dir, resume=args.resume,
                       device=args.device, amp=args.amp, threads=args.threads, title=args.title)


def run_train(args: argparse.Namespace) -> None:
    """The ``train`` command: train, then print the weights path and its sha256 (torch loads only here)."""
    from .training import train
    path = train(config_from_args(args))
    print(f"{path}  sha256 {sha256(path)}")


def add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``list``, ``fetch``, ``import`` and ``remove`` under ``python -m denoise_core weights``."""
    commands = parser.add_subparsers(dest="weights_command", required=True)
    p = commands.add_parser("list", help="every weights file: shipped, imported, published and downloadable")
    p.add_argument("--json", action="store_true")
    p = commands.add_parser("fetch", help="download published weights (sha256-checked) into the cache")
    p.add_argument("name", choices=weights.fetchable(), metavar="NAME", help=f"one of: {', '.join(weights.fetchable())}")
    p.add_argument("--mirror", metavar="DIR", help="take the file of the same official name from this folder "
                                                   f"instead of the internet (default ${MIRROR_ENV})")
    p.add_argument("--trust", action="store_true",
                   help="accept a file whose sha256 differs from the published or recorded one, deliberately")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = commands.add_parser("import", help="convert your own weights file (DnCNN or DRUNet .pth, or our .safetensors)")
    p.add_argument("path")
    p.add_argument("--name", required=True, help="the denoiser's name in the registry")
    p.add_argument("--title", default="", help="title shown in the app")
    p.add_argument("--noise", default="gaussian", help="the noise it was trained for (shown in the app)")
    p = commands.add_parser("remove", help="forget imported weights and delete their converted file")
    p.add_argument("name")


def _bar_progress(bar) -> Progress:
    """A ``download.Progress`` that moves ``bar``."""
    def update(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)
    return update


def run_weights(args: argparse.Namespace) -> None:
    """Run the ``weights`` sub-command parsed with ``add_weights_arguments``."""
    if args.weights_command == "list":
        rows = weights.list_rows()
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for row in rows:
                print(f"{row['name']:24} {row['source']:9} {row['arch']:11} {row['status']:12} {row['path']}")
    elif args.weights_command == "fetch":
        from tqdm import tqdm
        with tqdm(unit="B", unit_scale=True, desc=args.name, leave=False, disable=args.quiet) as bar:
            got = weights.fetch(args.name, mirror=args.mirror, trust=args.trust, progress=_bar_progress(bar))
        for item in got:
            print(f"{args.name}: {item.path} ({HASH_NOTES[item.hash]}: {item.sha256})")
    elif args.weights_command == "import":
        entry = weights.import_weights(args.path, args.name, title=args.title, noise=args.noise)
        print(f"imported {entry.name}: {entry.arch} {entry.config} -> {entry.path} (sha256 {entry.sha256[:12]}…)")
    elif args.weights_command == "remove":
        weights.remove_imported(args.name)
        print(f"removed {args.name}")


def _export_format(text: str) -> str:
    """``text`` if it names one of the store's export formats (checked when given: the store loads only then)."""
    from .benchmark.report import EXPORT_FORMATS
    if text not in EXPORT_FORMATS:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(EXPORT_FORMATS)})")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m denoise_core", description="Denoise Workbench command line.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sets = {"action": "append", "default": [], "metavar": "K=V", "help": "set a parameter (repeatable)"}

    p = commands.add_parser("list", help="list registered methods, noise models and metrics")
    p.add_argument("--kind", choices=registry.KINDS)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list)

    p = commands.add_parser("noise", help="add synthetic noise to an image")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model", required=True)
    p.add_argument("--set", **sets)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--slice", **SLICE)
    p.set_defaults(run=cmd_noise)

    p = commands.add_parser("denoise", help="denoise an image (parameters not set come from 'auto')")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--method", required=True)
    p.add_argument("--set", **sets)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--slice", **SLICE)
    which.add_argument("--volume", action="store_true",
                       help="denoise every slice into OUT: .nii/.nii.gz (a NIfTI source), .tif/.tiff (a 16-bit "
                            "stack) or a folder name without a suffix (a DICOM series)")
    p.set_defaults(run=cmd_denoise)

    p = commands.add_parser("pipeline", help="classify the noise, denoise, optionally sharpen and super-resolve")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--sr", choices=list(pipeline.SR_SCALES), help="super-resolve the result by this factor")
    p.add_argument("--sr-method", default="realesrgan", help="a superres method (see: list --kind superres)")
    p.add_argument("--sharpen", action="store_true", help="unsharp mask after denoising (default parameters)")
    p.add_argument("--type", help="treat the noise as this type instead of the classifier's answer")
    p.add_argument("--denoiser", action="append", help="run this denoiser instead of the rule table's (repeatable)")
    p.add_argument("--json", action="store_true", help="print the route, parameters and times as JSON")
    p.add_argument("--slice", **SLICE)
    p.set_defaults(run=cmd_pipeline)

    p = commands.add_parser("metrics", help="compare an image with its clean reference")
    p.add_argument("reference")
    p.add_argument("image")
    p.add_argument("--json", action="store_true")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--slice", **{**SLICE, "help": "0-based slice of both images when they are volumes"})
    which.add_argument("--volume", action="store_true",
                       help="PSNR and SSIM of every slice and of the volume: {\"slices\": [...], \"volume\": {...}}")
    p.set_defaults(run=cmd_metrics)

    p = commands.add_parser("classify", help="name the noise type of an image, with probabilities and level")
    p.add_argument("input")
    p.add_argument("--json", action="store_true")
    p.add_argument("--slice", **SLICE)
    p.set_defaults(run=cmd_classify)

    p = commands.add_parser("calibrate", help="tune a method's parameters on the noisy image alone (J-invariance)")
    p.add_argument("input")
    p.add_argument("--method", required=True, help="a classical denoiser (see: list --kind denoiser)")
    p.add_argument("--clean", metavar="REF", help="clean reference: adds the true PSNR of every point and the oracle")
    p.add_argument("--json", action="store_true", help="print the chosen parameters and the grid as JSON")
    p.set_defaults(run=cmd_calibrate)

    p = commands.add_parser("forensics", help="what kind of noise an image has, how strong, and the evidence")
    p.add_argument("input")
    p.add_argument("--clean", help="the clean reference (else the residual is taken against a smooth estimate)")
    p.add_argument("--block", type=int, default=8, help="block side of the mean-variance scatter (4-32)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--slice", **SLICE)
    p.set_defaults(run=cmd_forensics)

    p = commands.add_parser("confusion", help="the noise classifier's confusion matrix on held-out images")
    p.add_argument("--per-class", type=int, default=50, help="noisy crops per class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the JSON document to FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_confusion)

    p = commands.add_parser("train-classifier", help="train the noise-type classifier on a folder of clean images")
    p.add_argument("--out", required=True, help="weights path without suffix; writes OUT.safetensors")
    p.add_argument("--data", default=str(TRAIN_DATA), help="folder of clean training images (never a test set)")
    p.add_argument("--per-class", type=int, default=1500, help="training crops per class")
    p.add_argument("--val-images", type=int, default=40, help="last N images held out for validation")
    p.add_argument("--val-per-class", type=int, default=100, help="validation crops per class")
    p.add_argument("--hidden", type=int, default=64, help="width of the two hidden layers")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the network is too small to gain)")
    p.set_defaults(run=cmd_train_classifier)

    p = commands.add_parser("eval", help="mean PSNR/SSIM of a method on a folder (BENCHMARK.md protocol)")
    p.add_argument("--method", required=True)
    p.add_argument("--data", required=True, help="folder of clean images")
    p.add_argument("--noise", default="gaussian")
    p.add_argument("--sigma", type=float, help="Gaussian noise std on the 0-255 scale")
    p.add_argument("--noise-set", **sets)
    p.add_argument("--set", **sets)
    p.add_argument("--blind", action="store_true", help="estimate the noise level instead of using the true sigma")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_eval)

    db = _Parser(add_help=False)
    db.add_argument("--db", help="results file (default: $DENOISE_WORKBENCH_DB or the per-user data folder)")

    p = commands.add_parser("bench", parents=[db], help="run a benchmark config; rows go to the results store")
    p.add_argument("config", help="YAML config (see benchmarks/configs/)")
    p.add_argument("--workers", type=int, help="worker processes (default: one per core; 0: in this process)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", help="also export the run to FILE (.csv, .parquet or .md)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_bench)

    p = commands.add_parser("sweep", parents=[db], help="sweep a noise level over a range × methods × images × seeds")
    p.add_argument("--noise", default="gaussian", help="noise model (see: list --kind noise)")
    p.add_argument("--param", help="the parameter swept (default: the model's level, e.g. sigma)")
    p.add_argument("--range", required=True, metavar="START:STOP:COUNT",
                   help="levels in the app's units (Gaussian sigma in /255), e.g. 5:75:8")
    p.add_argument("--methods", nargs="+", required=True, metavar="NAME", help="denoisers (parameters: auto)")
    p.add_argument("--data", required=True, metavar="DIR", help="folder of clean images")
    p.add_argument("--seeds", type=int, default=1, help="seeds per image (default 1)")
    p.add_argument("--metrics", nargs="+", default=["psnr", "ssim"], metavar="NAME")
    p.add_argument("--size", type=int, help="centre-crop images to this side (default: whole)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--workers", type=int, help="worker processes (default: one per core; 0: in this process)")
    p.add_argument("--json", action="store_true", help='print {"rows": [...]}')
    p.set_defaults(run=cmd_sweep)

    p = commands.add_parser("runs", help="list, show, compare, export or delete stored benchmark runs")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions.add_parser("list", parents=[db]).add_argument("--json", action="store_true")
    show = actions.add_parser("show", parents=[db])
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    compare = actions.add_parser("compare", parents=[db])
    compare.add_argument("first", type=int)
    compare.add_argument("second", type=int)
    compare.add_argument("--metric", default="psnr")
    export_parser = actions.add_parser("export", parents=[db])
    export_parser.add_argument("id", type=int)
    export_parser.add_argument("--format", type=_export_format, required=True, help="csv, parquet or md")
    export_parser.add_argument("--out", help="file to write (default: run-ID.FORMAT)")
    actions.add_parser("delete", parents=[db]).add_argument("id", type=int)
    p.set_defaults(run=cmd_runs)

    p = commands.add_parser("bundle", help="verify a reproducible bundle (zip), or export a benchmark run as one")
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    verify = actions.add_parser("verify", help="recompute every number: exit 0 all match, 1 some differ, 2 cannot run")
    verify.add_argument("file")
    verify.add_argument("--json", action="store_true")
    bundle_export = actions.add_parser("export", parents=[db], help="a stored benchmark run as a bundle")
    bundle_export.add_argument("id", type=int)
    bundle_export.add_argument("out", help="the zip to write")
    bundle_export.add_argument("--outputs", action="store_true",
                               help="with every case's output image (recomputes each case)")
    p.set_defaults(run=cmd_bundle)

    p = commands.add_parser("train", help="train a learned denoiser on a folder of clean images")
    add_train_arguments(p)
    p.set_defaults(run=run_train)

    p = commands.add_parser("weights", help="list, fetch or import model weights")
    add_weights_arguments(p)
    p.set_defaults(run=run_weights)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except DenoiseError as error:
        _print_error(str(error))
        return EXIT_ERROR
    except OSError as error:
        _print_error(f"{error.filename or ''}: {error.strerror or error}")
        return EXIT_ERROR
    except MemoryError:
        _print_error("not enough memory for this command; try a smaller image or fewer workers")
        return EXIT_ERROR
    return 0


def _print_error(message: str) -> None:
    """One ``error:`` line on stderr: control characters in the message (a file name may hold one) are escaped."""
    print("error: " + one_line(message), file=sys.stderr)
