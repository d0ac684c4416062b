"""mlirboot container"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..engine.hostinfo import os_codename
from .common import add_build_dir_arg, add_dry_run_arg, add_json_arg, parse_targets

HELP = "render (and optionally build) a reproducible container image of a target's toolchain"
EPILOG = """\
writes a build context into DIR: Containerfile (multi-stage: build stage with a venv
of the pinned mlirboot wheel; runtime stage with the pinned LLVM 22 packages),
apt/ and dpkg/ config, python/wheels + requirements.txt (sha256-pinned).

the base image must be pinned by digest (--base-image NAME@sha256:...). Without a
registry, --debootstrap-base makes one here from Debian's mirror (cached per day).

examples:
  mlirboot container --target nvidia --base-image docker.io/library/debian@sha256:<digest>
  mlirboot container --target host --debootstrap-base --build --json
  mlirboot container -B build --base-image NAME@sha256:<digest> --dry-run
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "container",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target",
        "-t",
        metavar="T[,T...]",
        default=None,
        help="accelerator targets (default: the build dir's plan, else host)",
    )
    add_build_dir_arg(
        parser, help="build dir whose plan gives the default --target (default: ./build)"
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        default=Path("container"),
        help="build context dir (default: ./container; replaced as a whole)",
    )
    parser.add_argument(
        "--codename",
        help="Debian release of the image "
        "(default: this machine's if bookworm/trixie, else bookworm)",
    )
    base = parser.add_mutually_exclusive_group()
    base.add_argument(
        "--base-image", metavar="NAME@sha256:DIGEST", help="base image, pinned by digest"
    )
    base.add_argument(
        "--debootstrap-base",
        action="store_true",
        help="make the base here: debootstrap minbase + buildah import",
    )
    parser.add_argument(
        "--build",
        action="store_true",
        help="build the image with buildah and run `mlir-opt --version` in it",
    )
    parser.add_argument("--tag", help="image tag (default: localhost/mlirboot-<targets>:<llvm>)")
    add_json_arg(parser)
    add_dry_run_arg(
        parser,
        "the context files that would be written (and, with --build, the "
        "buildah commands); the apt versions are still looked up",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..fsutil import check_output_dir
    from ..ship import container
    from ..ship.inputs import source_date_epoch

    check_output_dir(args.output_dir, f"-o {args.output_dir}")

    host = os_codename()
    codename: str = args.codename or (
        host if host is not None and host in container.PYTHON_OF else "bookworm"
    )
    if args.debootstrap_base and args.dry_run:
        base = f"<debootstrap minbase of {codename}, imported with buildah>"
    elif args.debootstrap_base:
        from ..ship.rootfs import base_image

        base = base_image(codename)
    elif args.base_image:
        base = args.base_image
    else:
        raise UsageError(
            "no base image given",
            where="--base-image",
            hint="pass --base-image NAME@sha256:<digest>, or --debootstrap-base "
            "to make one from Debian's mirror",
        )
    from ..engine import planfile

    targets = (
        parse_targets(args.target)
        or planfile.load_data_if_present(args.build_dir.resolve()).get("targets")
        or ["host"]
    )
    epoch = source_date_epoch()
    spec = container.make_spec(targets, codename, base, epoch, Path.cwd())
    apt_packages = [p.spec for p in spec.runtime_packages]
    result: dict[str, object] = {
        "targets": spec.targets,
        "codename": codename,
        "base_image": spec.base_image,
        "source_date_epoch": epoch,
        "apt_packages": apt_packages,
        "build_stage_packages": [p.spec for p in spec.build_packages],
        "unpinned": spec.unpinned,
    }
    if args.dry_run:
        return _dry_run(spec, result, args)
    result.update(container.write_context(spec, args.output_dir))
    if args.build:
        from ..ship import buildah

        tag = args.tag or f"localhost/mlirboot-{'-'.join(spec.targets)}:{spec.llvm_version}"
        context = Path(str(result["context"]))
        image_id = buildah.bud(
            context, tag, epoch=epoch, log_path=context.parent / f"{context.name}.build.log"
        )
        smoke = buildah.run_in(tag, ["mlir-opt", "--version"]).strip()
        result.update(
            {
                "image": tag,
                "image_id": image_id,
                "digest": buildah.digest(tag),
                "layers": buildah.layer_digests(tag),
                "mlir_opt_version": smoke,
            }
        )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"wrote {result['containerfile']} (base {spec.base_image}, {codename})")
    print(f"  apt: {' '.join(apt_packages)}")
    if spec.unpinned:
        print(f"  not pinned (no version in the config): {', '.join(spec.unpinned)}")
    if args.build:
        print(f"built {result['image']} {result['digest']}")
        print(f"  mlir-opt in the image: {str(result['mlir_opt_version']).splitlines()[0]}")
    else:
        print(f"build: buildah bud --timestamp {epoch} -t IMAGE {result['context']}")
    return 0


def _dry_run(spec, result: dict[str, object], args: argparse.Namespace) -> int:
    out = args.output_dir.resolve()
    files = [
        str(out / f)
        for f in (
            "Containerfile",
            "apt/sources.list",
            "apt/apt.conf.d/90mlirboot",
            "dpkg/90mlirboot-slim",
            "python/requirements.txt",
            "python/wheels/",
        )
    ]
    commands = []
    if args.build:
        tag = args.tag or f"localhost/mlirboot-{'-'.join(spec.targets)}:{spec.llvm_version}"
        commands = [
            f"buildah bud --timestamp {result['source_date_epoch']} -t {tag} {out}",
            f"buildah run <container of {tag}> mlir-opt --version",
        ]
    result.update({"dry_run": True, "context": str(out), "files": files, "commands": commands})
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"would write the build context {out} (replaced as a whole; nothing is written):")
    for path in files:
        print(f"  {path}")
    print(f"  apt: {' '.join(result['apt_packages'])}")  # type: ignore[arg-type]
    for cmd in commands:
        print(f"would run: {cmd}")
    return 0
