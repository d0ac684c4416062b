"""Execute a plan: per component, in plan order, the steps
fetch → verify → extract → configure → build → install (staging) → publish,
each skipped when its stamp matches. Then write the manifest.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, proc
from ..errors import BuildError, MlirbootError, UsageError
from ..fsutil import sha256_file
from . import (
    compile_cache,
    distributed,
    fetch,
    hostinfo,
    manifest_writer,
    progress,
    publish,
    timeline,
)
from .planfile import Component, Plan
from .stamps import Stamps
from .stamps import key as hash_key

_NO_WORK = "ninja: no work to do."
_COMPILER_SET = re.compile(r"set\(\s*CMAKE_(C|CXX)_COMPILER\s+\"?([^\s\")]+)", re.IGNORECASE)


@dataclass
class Options:
    jobs: int | None = None
    keep_going: bool = False
    only: list[str] = field(default_factory=list)


@dataclass
class ComponentResult:
    name: str
    status: str = "pending"  # "done" | "failed" | "skipped (dependency failed)"
    steps: dict[str, str] = field(default_factory=dict)  # step -> "ran" | "up to date"
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Summary:
    components: list[ComponentResult]
    manifest: str | None
    seconds: float
    # Compile cache statistics over this run (hits, misses, rate), when a cache is set.
    cache: dict[str, object] | None = None
    cache_line: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.status == "done" for c in self.components)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "manifest": self.manifest,
            "cache": self.cache,
            "components": [vars(c) for c in self.components],
        }


class Engine:
    def __init__(self, plan: Plan, options: Options, reporter: progress.Reporter):
        self.plan = plan
        self.opts = options
        self.out = reporter
        self.jobs = options.jobs or plan.jobs or hostinfo.default_jobs()
        # Set up on the first step that compiles (a no-op build probes nothing).
        self.farm: distributed.Farm | None = None
        self.cache: compile_cache.CompileCache | None = None
        # Cached source trees whose content stamp was checked in this run.
        self.checked_trees: set[Path] = set()
        # When each step that did something ran (`mlirboot build --timeline`).
        self.steps: list[timeline.StepTime] = []

    # -- selection ---------------------------------------------------------

    def selected(self) -> list[Component]:
        if not self.opts.only:
            return list(self.plan.components)
        wanted: set[str] = set()

        def add(name: str) -> None:
            if name not in wanted:
                wanted.add(name)
                for dep in self.plan.component(name).depends_on:
                    add(dep)

        for name in self.opts.only:
            add(name)
        return [c for c in self.plan.components if c.name in wanted]

    # -- top level ---------------------------------------------------------

    def run(self) -> Summary:
        start = time.monotonic()
        try:
            summary = self._run_all(start)
        finally:
            cache_stats = self._finish_cache()
        if cache_stats is not None:
            summary.cache, summary.cache_line = cache_stats
        return summary

    def _finish_cache(self) -> tuple[dict[str, object], str] | None:
        """Stop what the cache started; its hit rate over this run."""
        if self.cache is None:
            return None
        try:
            delta = self.cache.delta()
        finally:
            self.cache.stop()
        if delta is None:
            return None
        line = compile_cache.summary_line(self.cache.spec.tool, delta, self.cache.spec.remote)
        self.out.info(line)
        return (
            {
                "tool": self.cache.spec.tool,
                "hits": delta.hits,
                "misses": delta.misses,
                "remote_hits": delta.remote_hits,
                "hit_rate": round(delta.rate, 4),
            },
            line,
        )

    def _run_all(self, start: float) -> Summary:
        results: list[ComponentResult] = []
        failed: set[str] = set()
        first_error: MlirbootError | None = None
        for comp in self.selected():
            res = ComponentResult(comp.name)
            results.append(res)
            blocked = [d for d in comp.depends_on if d in failed]
            if blocked:
                res.status = f"skipped (dependency {', '.join(blocked)} failed)"
                failed.add(comp.name)
                continue
            t0 = time.monotonic()
            try:
                self.build_component(comp, res)
                res.status = "done"
            except MlirbootError as err:
                res.status, res.error = "failed", err.line()
                failed.add(comp.name)
                if not self.opts.keep_going:
                    raise
                first_error = first_error or err
                self.out.info(f"{comp.name}: FAILED ({err.line()}); --keep-going: continuing")
            finally:
                res.seconds = time.monotonic() - t0
        manifest_path = None
        if not failed:
            manifest_path = str(manifest_writer.write(self.plan))
        summary = Summary(results, manifest_path, time.monotonic() - start)
        if first_error is not None:
            # Exit 1 after building what could be built.
            names = ", ".join(sorted(failed))
            raise BuildError(
                f"{len(failed)} component(s) did not build: {names}",
                where="build",
                hint="see the errors above; fix and re-run `mlirboot build` "
                "(finished steps are not redone)",
                details="\n".join(
                    f"{r.name}: {r.status}" + (f": {r.error}" if r.error else "") for r in results
                ),
            )
        return summary

    def build_component(self, comp: Component, res: ComponentResult) -> None:
        if comp.action == "system":
            manifest_writer.check_system(comp)
            res.steps["system"] = "adopted"
            return
        comp_dir = self.plan.build_dir / comp.name
        stamps = Stamps(comp_dir / "stamps")
        prefix = self.plan.prefix
        if publish.recover(prefix, comp.name):
            self.out.info(f"{comp.name}: rolled back a publish an earlier run left unfinished")
        if comp.action == "pip":
            generation = self.pip_install(comp, comp_dir, stamps, res)
        else:
            generation = self.cmake_steps(comp, comp_dir, stamps, res)
        if publish.is_published(prefix, comp.name, generation):
            res.steps["publish"] = "up to date"
            return
        self.out.info(f"{comp.name}: publish into {prefix}")
        with self._timed(comp, "publish"):
            publish.publish(prefix, comp.name, self.stage_root(comp_dir), generation)
        res.steps["publish"] = "ran"

    def stage_root(self, comp_dir: Path) -> Path:
        # DESTDIR installs land at <stage>/<absolute prefix>.
        return comp_dir / "stage" / self.plan.prefix.relative_to(self.plan.prefix.anchor)

    # -- steps -------------------------------------------------------------

    @contextmanager
    def _timed(
        self, comp: Component, step: str, ninja_log: Path | None = None
    ) -> Iterator[timeline.StepTime]:
        record = timeline.StepTime(comp.name, step, time.monotonic())
        if ninja_log is not None:
            record.ninja_log = str(ninja_log)
            try:
                st = ninja_log.stat()
                record.log_offset, record.log_inode = st.st_size, st.st_ino
            except OSError:
                pass
        self.steps.append(record)
        try:
            yield record
        except KeyboardInterrupt:
            record.status = "interrupted"
            raise
        except BaseException:
            record.status = "failed"
            raise
        finally:
            record.end = time.monotonic()
            if ninja_log is not None:
                _read_log_tail(record, ninja_log)

    def _run(
        self,
        comp: Component,
        step: str,
        cmd: list[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        hint: str,
        show_progress: bool = False,
        ninja_log: Path | None = None,
    ) -> proc.Result:
        label = f"{comp.name}: {step}"
        self.out.info(f"{label}: {proc.quote(cmd)}")
        self.out.begin(label)
        try:
            with self._timed(comp, step, ninja_log) as record:
                result = proc.run(
                    cmd,
                    stage=f"{comp.name}/{step}",
                    log_path=log,
                    cwd=cwd,
                    env=env,
                    check=False,
                    die_with_parent=True,
                    on_line=self.out.on_line if show_progress else None,
                )
                if result.returncode != 0:
                    record.status = "failed"
        finally:
            self.out.end()
        if result.returncode != 0:
            tail = "\n".join(result.output.splitlines()[-proc.TAIL_LINES :])
            first = proc.first_diagnostic(result.output.splitlines()[-200:])
            raise BuildError(
                f"{step} failed ({first or f'exit code {result.returncode}'})",
                where=f"{comp.name}/{step}",
                hint=f"{hint}; full log: {log}",
                details=(
                    f"component: {comp.name}\nstep: {step}\ncommand: {proc.quote(cmd)}\n"
                    f"log: {log}\n--- last {proc.TAIL_LINES} lines of the log ---\n{tail}"
                ),
            )
        return result

    def cmake_steps(
        self, comp: Component, comp_dir: Path, stamps: Stamps, res: ComponentResult
    ) -> str:
        logs = comp_dir / "logs"
        with self._timed(comp, "fetch"):
            tree = fetch.resolve(comp, logs, checked=self.checked_trees, meter=self.out.meter)
        res.steps["fetch"] = "ok"
        src = tree.path / comp.source_subdir if comp.source_subdir else tree.path
        if not (src / "CMakeLists.txt").exists():
            raise UsageError(
                f"no CMakeLists.txt in {src}",
                where=f"{comp.name}/configure",
                hint=f"the source must contain `{comp.source_subdir or '.'}` "
                + (f"(check {comp.source_env})" if comp.source_env else ""),
            )
        if not comp.cache_file:
            raise UsageError(
                f"component `{comp.name}` has no cache_file",
                where=f"{comp.name}/configure",
                hint="re-run `mlirboot configure`",
            )
        cache = self.plan.build_dir / comp.cache_file
        try:
            cache_text = cache.read_text()
        except OSError:
            raise UsageError(
                f"CMake cache file {cache} is missing",
                where=f"{comp.name}/configure",
                hint="re-run `mlirboot configure`",
            ) from None
        bdir = comp_dir / "build"
        self._check_distcc_compilers(comp, cache_text)
        cmake = hostinfo.find_tool("cmake")
        ninja = hostinfo.find_tool("ninja")
        defines = [f"-DCMAKE_INSTALL_PREFIX={self.plan.prefix}", f"-DCMAKE_MAKE_PROGRAM={ninja}"]
        launcher = self.plan.compiler_launcher
        if launcher:
            found = shutil.which(launcher)
            if not found:
                raise UsageError(
                    f"compiler launcher `{launcher}` not found",
                    where=f"{comp.name}/configure",
                    hint=f"apt-get install {launcher} (or pip install {launcher}), "
                    "or drop compiler_launcher from the config",
                )
            defines += [
                f"-DCMAKE_C_COMPILER_LAUNCHER={found}",
                f"-DCMAKE_CXX_COMPILER_LAUNCHER={found}",
            ]
        if self.plan.distributed is not None:
            # -j grows with the remote slots; links must not follow it.
            defines += distributed.link_pool_defines(distributed.link_jobs(self.plan.link_jobs))
        deps = {
            d: (publish.read_record(self.plan.prefix, d) or {}).get("generation")
            for d in comp.depends_on
        }
        cfg_key = hash_key(
            __version__,
            sha256_file(cache),
            comp.settings_hash,
            tree.key,
            str(src),
            self._compiler_ids(cache_text),
            hostinfo.file_identity(cmake),
            hostinfo.file_identity(ninja),
            defines,
            deps,
        )
        # configure
        if stamps.valid("configure", cfg_key) and (bdir / "build.ninja").exists():
            res.steps["configure"] = "up to date"
        else:
            stamps.clear("configure", "build", "install")
            # -C only seeds entries not yet in the cache: start from a fresh
            # cache so a changed setting takes effect; ninja then rebuilds
            # only what the changed flags touch.
            (bdir / "CMakeCache.txt").unlink(missing_ok=True)
            bdir.mkdir(parents=True, exist_ok=True)
            self._run(
                comp,
                "configure",
                [cmake, "-G", "Ninja", "-C", str(cache), "-S", str(src), "-B", str(bdir), *defines],
                log=logs / "configure.log",
                env=self._farm_env(src, bdir, logs),
                hint=f"fix the CMake error (cache file: {cache}); re-running "
                "`mlirboot build` redoes only this step onwards",
            )
            stamps.write("configure", cfg_key)
            res.steps["configure"] = "ran"
        # build
        env = {"NINJA_STATUS": progress.NINJA_STATUS}
        prev = stamps.read("build")
        prev_done = prev is not None and prev.get("key") == cfg_key and prev.get("state") == "done"
        if tree.immutable and prev_done:
            res.steps["build"] = "up to date"
        else:
            # "running" until ninja succeeds: work done by a killed ninja is
            # then still seen as a change that needs installing.
            stamps.write("build", cfg_key, state="running")
            env.update(self._farm_env(src, bdir, logs))
            result = self._run(
                comp,
                "build",
                [ninja, "-C", str(bdir), f"-j{self.jobs}", *comp.build_targets],
                log=logs / "build.log",
                env=env,
                show_progress=True,
                ninja_log=bdir / timeline.NINJA_LOG,
                hint="fix the error shown (a compile error in the source or a "
                "setting in the cache file); re-running `mlirboot build` resumes",
            )
            did_work = _NO_WORK not in result.output
            self._report_fallbacks(comp, logs)
            stamps.write("build", cfg_key)
            if did_work or not prev_done:
                stamps.clear("install")
            res.steps["build"] = "ran" if did_work else "up to date"
        # install into the staging dir
        inst = stamps.read("install")
        if inst and inst.get("key") == cfg_key and inst.get("state") == "done":
            res.steps["install"] = "up to date"
            return str(inst["generation"])
        stage = comp_dir / "stage"
        shutil.rmtree(stage, ignore_errors=True)
        env.update(self._farm_env(src, bdir, logs))
        for command in comp.install_commands(cmake, ninja, bdir, self.jobs):
            self._run(
                comp,
                "install",
                command,
                log=logs / "install.log",
                env={**env, "DESTDIR": str(stage)},
                show_progress=True,
                ninja_log=bdir / timeline.NINJA_LOG,
                hint="the install rules failed; see the log",
            )
        generation = uuid.uuid4().hex
        stamps.write("install", cfg_key, generation=generation)
        res.steps["install"] = "ran"
        return generation

    # -- distributed compiles and the compile cache --------------------------

    def _farm_env(self, src: Path, bdir: Path, logs: Path) -> dict[str, str]:
        """Environment of a compiling step. The first call checks the servers
        (fails when none answers) and sizes -j to them; the compile cache is
        started and its statistics read before any compile."""
        cluster, spec = self.plan.distributed, self.plan.cache
        env: dict[str, str] = {}
        if cluster is not None:
            if self.farm is None:
                self.farm = distributed.prepare(cluster, self.plan.build_dir, self.out.info)
                if not (self.opts.jobs or self.plan.jobs):
                    self.jobs = self.farm.jobs
                alive = ", ".join(f"{h.name}/{h.slots}" for h in self.farm.alive)
                self.out.info(
                    f"{cluster.engine}: compiling on {alive}"
                    + (f" + localhost/{cluster.local_slots}" if cluster.local_slots else "")
                    + f"; -j{self.jobs}"
                )
            env.update(self.farm.env)
            if cluster.engine == "distcc":
                # The client's own messages (fallbacks, backoff) go here, not
                # between the compiler diagnostics.
                logs.mkdir(parents=True, exist_ok=True)
                env["DISTCC_LOG"] = str(logs / "distcc.log")
        if spec is not None:
            if self.cache is None:
                prefix = None
                if cluster is not None and cluster.engine in ("distcc", "icecream"):
                    prefix = cluster.launcher
                self.cache = compile_cache.CompileCache(
                    spec, self.plan.build_dir, prefix_command=prefix
                )
                self.cache.start(self.out.info)
            env.update(self.cache.compile_env(src, bdir))
        return env

    def _check_distcc_compilers(self, comp: Component, cache_text: str) -> None:
        cluster = self.plan.distributed
        if cluster is None or cluster.engine != "distcc":
            return
        refused = distributed.not_whitelisted([p for _, p in _COMPILER_SET.findall(cache_text)])
        if refused:
            self.out.info(
                f"{comp.name}: warning: distccd runs only compilers named in "
                f"{distributed.DISTCC_WHITELIST}; {', '.join(sorted(set(refused)))} "
                "is not, so its compiles will run here (name it clang-22/gcc, or "
                "run update-distcc-symlinks on the servers)"
            )

    def _report_fallbacks(self, comp: Component, logs: Path) -> None:
        if self.plan.distributed is None or self.plan.distributed.engine != "distcc":
            return
        count = distributed.retried(logs / "distcc.log")
        if count:
            self.out.info(
                f"{comp.name}: distcc: {count} compile(s) redone after a server "
                f"failed (on another server or here; see {logs / 'distcc.log'})"
            )

    def pip_install(
        self, comp: Component, comp_dir: Path, stamps: Stamps, res: ComponentResult
    ) -> str:
        if comp.pip is None:
            raise UsageError(
                f"pip component `{comp.name}` has no `pip` entry",
                where=f"{comp.name}/install",
                hint="re-run `mlirboot configure`",
            )
        want = hash_key(
            __version__, comp.pip.package, comp.pip.version, hostinfo.file_identity(sys.executable)
        )
        inst = stamps.read("install")
        if inst and inst.get("key") == want and inst.get("state") == "done":
            res.steps["install"] = "up to date"
            return str(inst["generation"])
        stage = comp_dir / "stage"
        shutil.rmtree(stage, ignore_errors=True)
        target = self.stage_root(comp_dir) / "lib" / "python"
        self._run(
            comp,
            "install",
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--target",
                str(target),
                f"{comp.pip.package}=={comp.pip.version}",
            ],
            log=comp_dir / "logs" / "install.log",
            hint=f"check that {comp.pip.package}=={comp.pip.version} exists for this "
            "Python/platform (`pip index versions " + comp.pip.package + "`)",
        )
        generation = uuid.uuid4().hex
        stamps.write("install", want, generation=generation)
        res.steps["install"] = "ran"
        return generation

    @staticmethod
    def _compiler_ids(cache_text: str) -> dict[str, str]:
        """Identity of the host compilers: the cache file's choice, else CC/CXX,
        else cc/c++ from PATH. A compiler upgrade reconfigures."""
        chosen = {lang: path for lang, path in _COMPILER_SET.findall(cache_text)}
        ids = {}
        for lang, env_var, default in (("C", "CC", "cc"), ("CXX", "CXX", "c++")):
            tool = chosen.get(lang) or os.environ.get(env_var) or default
            ids[lang] = hostinfo.file_identity(tool)
        return ids


def _read_log_tail(record: timeline.StepTime, log: Path) -> None:
    """What ninja appended to its log during the step (the whole log when
    ninja replaced the file meanwhile: `timeline` then takes its last run)."""
    try:
        with open(log, "rb") as f:
            st = os.fstat(f.fileno())
            replaced = record.log_inode is not None and st.st_ino != record.log_inode
            record.log_rewritten = replaced or st.st_size < record.log_offset
            if not record.log_rewritten:
                f.seek(record.log_offset)
            record.log_data = f.read()
    except FileNotFoundError:
        record.log_error = "ninja wrote no log"
    except OSError as err:
        record.log_error = f"cannot read {log}: {err.strerror or err}"
