//===- Resident.cpp - mlir-opt and mlir-translate runs in one process ------===//
//
// A compile runs mlir-opt and mlir-translate several times on small modules;
// each process spends ~40 ms loading libMLIR and registering every dialect
// and pass, more than the work itself. This tool pays that once: it reads
// requests, one JSON line each on stdin,
//   {"tool": "mlir-opt" | "mlir-translate" | "clang", "argv": [...],
//    "log": "<file>", "cwd": "<dir relative paths are in>"}
// runs each as that tool would (mlir-opt through MlirOptMain with the same
// registrations as mlir-opt's main; mlir-translate's --mlir-to-llvmir as its
// registration does; clang through its driver, see runClang), with stdout
// and stderr appended to the log, and answers one JSON line each on its own
// stdout:
//   {"rc": 0 | 1}, {"rc": 0, "jobs": [[argv...]]} (commands for the caller
//   to run: a link's linker), or {"declined": "<why>"} for anything it does
//   not serve (the caller then runs the real tool). It serves one request at
// a time and exits at end of input. A crash ends the process: the caller
// sees the pipe close and reruns that command with the real tool.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Tools/ParseUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#ifdef MLIRBOOT_WITH_CLANG
#include "clang/Basic/Diagnostic.h"
#include "clang/Basic/DiagnosticIDs.h"
#include "clang/Basic/DiagnosticOptions.h"
#include "clang/CodeGen/ObjectFilePCHContainerWriter.h"
#include "clang/Driver/Compilation.h"
#include "clang/Driver/Driver.h"
#include "clang/Driver/Job.h"
#include "clang/Driver/ToolChain.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/CompilerInvocation.h"
#include "clang/Frontend/TextDiagnosticBuffer.h"
#include "clang/Frontend/TextDiagnosticPrinter.h"
#include "clang/FrontendTool/Utils.h"
#include "clang/Serialization/ObjectFilePCHContainerReader.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Support/VirtualFileSystem.h"
#endif

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace mlir;

namespace {

// mlir-opt's positional input and -o (MlirOptMain's own live in a function
// that also parses, and parsing must not exit this process on bad flags).
llvm::cl::opt<std::string> inputFilename(llvm::cl::Positional,
                                         llvm::cl::desc("<input file>"),
                                         llvm::cl::init("-"));
llvm::cl::opt<std::string> outputFilename("o",
                                          llvm::cl::desc("Output filename"),
                                          llvm::cl::value_desc("filename"),
                                          llvm::cl::init("-"));

struct Outcome {
  int rc = 0;
  std::string declined;                        // non-empty: not served
  std::vector<std::vector<std::string>> jobs; // for the caller to run
};

Outcome declined(std::string why) { return {0, std::move(why), {}}; }

struct Files {
  std::unique_ptr<llvm::MemoryBuffer> input;
  std::unique_ptr<llvm::ToolOutputFile> output;
};

// The run's input and output file, as the tools open them (a file that
// cannot be opened is said on stderr, as they say it, and left null).
Files openFiles(llvm::StringRef input, llvm::StringRef output) {
  Files files;
  std::string message;
  files.input = openInputFile(input, &message);
  if (files.input)
    files.output = openOutputFile(output, &message);
  if (!files.input || !files.output)
    llvm::errs() << message << "\n";
  return files;
}

Outcome runOpt(const std::vector<std::string> &args,
               DialectRegistry &registry) {
  for (const std::string &arg : args)
    if (arg == "-" || arg.rfind("--help", 0) == 0 || arg == "-h" ||
        arg == "--version")
      return declined("interactive flag " + arg);
  std::vector<const char *> argv;
  for (const std::string &arg : args)
    argv.push_back(arg.c_str());
  llvm::cl::ResetAllOptionOccurrences();
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (!llvm::cl::ParseCommandLineOptions(argv.size(), argv.data(), "",
                                         &errorStream))
    return declined("flags: " + errors);
  if (inputFilename == "-")
    return declined("input from stdin");
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects() || config.shouldListPasses())
    return declined("listing flag");
  Files files = openFiles(inputFilename, outputFilename);
  if (!files.input || !files.output)
    return {1, "", {}};
  auto &output = files.output;
  if (failed(MlirOptMain(output->os(), std::move(files.input), registry,
                         config)))
    return {1, "", {}};
  output->keep();
  return {0, "", {}};
}

// mlir-translate --mlir-to-llvmir INPUT -o OUTPUT, as MlirTranslateMain and
// the mlir-to-llvmir registration (ConvertToLLVMIR.cpp) run it.
Outcome runTranslate(const std::vector<std::string> &args) {
  std::string input, output;
  bool toLLVMIR = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--mlir-to-llvmir" || args[i] == "-mlir-to-llvmir")
      toLLVMIR = true;
    else if (args[i] == "-o" && i + 1 < args.size() && output.empty())
      output = args[++i];
    else if (args[i].rfind("-", 0) != 0 && input.empty())
      input = args[i];
    else
      return declined("argument " + args[i]);
  }
  if (!toLLVMIR || input.empty() || output.empty() || output == "-")
    return declined("not --mlir-to-llvmir FILE -o FILE");
  Files files = openFiles(input, output);
  if (!files.input || !files.output)
    return {1, "", {}};
  auto &file = files.output;
  auto &buffer = files.input;
  MLIRContext context;
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  sourceMgr->AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(*sourceMgr, &context);
  DialectRegistry registry;
  registry.insert<DLTIDialect, func::FuncDialect>();
  registerAllToLLVMIRTranslations(registry);
  context.appendDialectRegistry(registry);
  OwningOpRef<Operation *> op =
      parseSourceFileForTool(sourceMgr, &context, /*insertImplicitModule=*/true);
  if (!op || failed(verify(*op)))
    return {1, "", {}};
  llvm::LLVMContext llvmContext;
  auto llvmModule = translateModuleToLLVMIR(op.get(), llvmContext);
  if (!llvmModule)
    return {1, "", {}};
  llvmModule->removeDebugIntrinsicDeclarations();
  llvmModule->print(file->os(), nullptr);
  file->keep();
  return {0, "", {}};
}

#ifdef MLIRBOOT_WITH_CLANG
// One cc1 job as clang's integrated cc1 runs it (clang/tools/driver/
// cc1_main.cpp), without -disable-free: this process lives on. A compile
// that fails is run again by the real clang, which reports it.
int runCC1(llvm::ArrayRef<const char *> args, const char *argv0) {
  auto pchOps = std::make_shared<clang::PCHContainerOperations>();
  pchOps->registerWriter(std::make_unique<clang::ObjectFilePCHContainerWriter>());
  pchOps->registerReader(std::make_unique<clang::ObjectFilePCHContainerReader>());
  clang::DiagnosticOptions diagOpts;
  auto *buffer = new clang::TextDiagnosticBuffer;
  clang::DiagnosticsEngine diags(clang::DiagnosticIDs::create(), diagOpts,
                                 buffer);
  auto invocation = std::make_shared<clang::CompilerInvocation>();
  bool ok =
      clang::CompilerInvocation::CreateFromArgs(*invocation, args, diags, argv0);
  clang::CompilerInstance compiler(std::move(invocation), std::move(pchOps));
  compiler.getFrontendOpts().DisableFree = false;
  compiler.getCodeGenOpts().DisableFree = false;
  compiler.createVirtualFileSystem(llvm::vfs::getRealFileSystem(), buffer);
  compiler.createDiagnostics();
  buffer->FlushDiagnostics(compiler.getDiagnostics());
  if (!ok) {
    compiler.getDiagnosticClient().finish();
    return 1;
  }
  return clang::ExecuteCompilerInvocation(&compiler) ? 0 : 1;
}

// clang as its driver (clang/tools/driver/driver.cpp) runs it, for command
// lines that make one job: a compile runs here as cc1 (what clang's
// integrated cc1 would do in its own process), a link's linker command goes
// back to the caller, which runs it (so links still run side by side).
// `clang -cc1 ...` runs here as cc1. Anything else, or anything that would
// change this process's global state (-mllvm, plugins), is declined.
Outcome runClang(const std::vector<std::string> &args) {
  for (const char *var : {"CCC_OVERRIDE_OPTIONS", "CC_PRINT_OPTIONS",
                          "CC_PRINT_HEADERS", "CC_LOG_DIAGNOSTICS",
                          "CC_PRINT_PROC_STAT", "FORCE_CLANG_DIAGNOSTICS_CRASH"})
    if (std::getenv(var))
      return declined(std::string("environment ") + var);
  // The driver finds its resource dir and installation beside the clang
  // binary itself, as clang finds them through /proc/self/exe.
  llvm::SmallString<256> path;
  if (llvm::sys::fs::real_path(args[0], path))
    return declined("cannot resolve " + args[0]);
  // `clang -cc1 ...` (a command line the driver would have made): cc1 itself.
  if (args.size() > 1 && args[1] == "-cc1") {
    std::vector<const char *> cc1;
    for (size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "-mllvm" || args[i] == "-load" || args[i] == "-" ||
          llvm::StringRef(args[i]).starts_with("-plugin") ||
          llvm::StringRef(args[i]).starts_with("-ftime"))
        return declined("cc1 argument " + args[i]);
      cc1.push_back(args[i].c_str());
    }
    return {runCC1(cc1, path.c_str()), "", {}};
  }
  for (size_t i = 1; i < args.size(); ++i) {
    llvm::StringRef arg = args[i];
    if (arg.starts_with("@") || arg == "-" || arg.starts_with("-###") ||
        arg == "-v" || arg.starts_with("--help") || arg == "--version" ||
        arg.starts_with("-cc1") || arg.contains("integrated-cc1") ||
        arg.contains("canonical-prefixes") || arg == "-mllvm" ||
        arg.starts_with("-Xclang") || arg.starts_with("-print") ||
        arg.starts_with("--print") || arg.starts_with("-fplugin") ||
        arg.starts_with("-ftime"))
      return declined("argument " + arg.str());
  }
  auto mode = clang::driver::ToolChain::getTargetAndModeFromProgramName(args[0]);
  if (!mode.TargetPrefix.empty() || mode.DriverMode)
    return declined("program name with a target or mode");
  std::vector<const char *> argv;
  for (const std::string &arg : args)
    argv.push_back(arg.c_str());

  std::unique_ptr<clang::DiagnosticOptions> diagOpts =
      clang::CreateAndPopulateDiagOpts(argv);
  diagOpts->DiagnosticSuppressionMappingsFile.clear();
  if (!diagOpts->DiagnosticSerializationFile.empty())
    return declined("serialized diagnostics");
  auto *printer = new clang::TextDiagnosticPrinter(llvm::errs(), *diagOpts);
  printer->setPrefix(llvm::sys::path::filename(args[0]).str());
  clang::DiagnosticsEngine diags(clang::DiagnosticIDs::create(), *diagOpts,
                                 printer);
  auto vfs = llvm::vfs::getRealFileSystem();
  clang::ProcessWarningOptions(diags, *diagOpts, *vfs, /*ReportDiags=*/false);
  clang::driver::Driver driver(path, llvm::sys::getDefaultTargetTriple(), diags,
                               "clang LLVM compiler", vfs);
  driver.setTargetAndMode(mode);
  std::unique_ptr<clang::driver::Compilation> compilation(
      driver.BuildCompilation(argv));
  if (!compilation || compilation->containsError() ||
      diags.hasErrorOccurred())
    return declined("the driver did not build a compilation");
  const clang::driver::JobList &jobs = compilation->getJobs();
  if (jobs.size() != 1)
    return declined("not one job");
  const clang::driver::Command &job = *jobs.begin();
  const llvm::opt::ArgStringList &jobArgs = job.getArguments();
  Outcome outcome;
  if (!jobArgs.empty() && llvm::StringRef(jobArgs[0]) == "-cc1") {
    for (const char *arg : jobArgs)
      if (llvm::StringRef(arg) == "-mllvm" || llvm::StringRef(arg) == "-load")
        return declined(std::string("cc1 argument ") + arg);
    outcome.rc = runCC1(llvm::ArrayRef(jobArgs).drop_front(), job.getExecutable());
  } else {
    if (!compilation->getTempFiles().empty())
      return declined("a job with temporary files");
    std::vector<std::string> command{job.getExecutable()};
    for (const char *arg : jobArgs)
      command.push_back(arg);
    outcome.jobs.push_back(std::move(command));
  }
  diags.getClient()->finish();
  return outcome;
}
#endif

// Points fds 1 and 2 at `fd` (the request's log, or /dev/null between requests).
void redirectOutput(int fd) {
  llvm::outs().flush();
  llvm::errs().flush();
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(fd, 1);
  dup2(fd, 2);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv); // a crash prints its stack dump to the log
  // The answers go to the stdout we were given; the tools' own stdout and
  // stderr go to each request's log.
  int answers = dup(1);
  int devnull = open("/dev/null", O_WRONLY);
  if (answers < 0 || devnull < 0)
    return 1;
  redirectOutput(devnull);

  registerAllPasses();
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllGPUToLLVMIRTranslations(registry);
  registerCLIOptions("mlir-opt", registry);
#ifdef MLIRBOOT_WITH_CLANG
  // As cc1_main does: every backend, for any -target a compile names.
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  llvm::InitializeAllAsmParsers();
#endif

  std::string line;
  while (std::getline(std::cin, line)) {
    Outcome outcome;
    llvm::Expected<llvm::json::Value> request = llvm::json::parse(line);
    const llvm::json::Object *object =
        request ? request->getAsObject() : nullptr;
    const llvm::json::Array *argvArray =
        object ? object->getArray("argv") : nullptr;
    std::optional<llvm::StringRef> tool =
        object ? object->getString("tool") : std::nullopt;
    std::optional<llvm::StringRef> logPath =
        object ? object->getString("log") : std::nullopt;
    std::optional<llvm::StringRef> cwd =
        object ? object->getString("cwd") : std::nullopt;
    if (!request)
      llvm::consumeError(request.takeError());
    std::vector<std::string> args;
    if (argvArray)
      for (const llvm::json::Value &value : *argvArray)
        if (std::optional<llvm::StringRef> arg = value.getAsString())
          args.push_back(arg->str());
    int log = logPath ? open(logPath->str().c_str(),
                             O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)
                      : -1;
    if (!tool || !argvArray || args.size() != argvArray->size() ||
        args.empty() || log < 0) {
      outcome = declined("malformed request");
    } else if (cwd && chdir(cwd->str().c_str()) != 0) {
      outcome = declined("cannot enter " + cwd->str());
    } else {
      redirectOutput(log);
      if (*tool == "mlir-opt")
        outcome = runOpt(args, registry);
      else if (*tool == "mlir-translate")
        outcome = runTranslate(args);
#ifdef MLIRBOOT_WITH_CLANG
      else if (*tool == "clang")
        outcome = runClang(args);
#endif
      else
        outcome = declined("unknown tool");
      redirectOutput(devnull);
    }
    if (log >= 0)
      close(log);
    llvm::json::Object answer;
    if (outcome.declined.empty()) {
      answer["rc"] = outcome.rc;
      if (!outcome.jobs.empty()) {
        llvm::json::Array jobs;
        for (const auto &job : outcome.jobs)
          jobs.push_back(llvm::json::Array(job));
        answer["jobs"] = std::move(jobs);
      }
    } else
      answer["declined"] = outcome.declined;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << llvm::json::Value(std::move(answer)) << "\n";
    os.flush();
    for (size_t done = 0; done < text.size();) {
      ssize_t n = write(answers, text.data() + done, text.size() - done);
      if (n <= 0)
        return 1;
      done += n;
    }
  }
  return 0;
}
