//===- MathApproximation.cpp - device math: GPU libm, else approximations -===//
//
// mlirboot-math-approximation{libm check-target=...}: a math.exp that reaches
// LLVM as llvm.exp.f32 makes llc look for a libcall (NVPTX: "no libcall
// available for fexp"). With `libm` (nvidia, amd: their images link libm.bc
// of LLVM's libc for GPUs), every f32/f64 op whose function that libm defines
// becomes a call to it (upstream's MathToLibm patterns: math.exp f32 ->
// expf, f64 -> exp); run it on the module (the calls' declarations go there).
// What is left (f16/bf16, f32 erfc, or everything without `libm`: intel, no
// SPIR-V libm) is rewritten with upstream's public rewrites:
//   - populateExpansionPatterns for ops defined through others (tan -> sin/cos,
//     sinh/cosh/powf/exp2 -> exp/log, ...), restricted to f32-or-narrower ops;
//   - populateMathF32ExpansionPatterns: f16/bf16 math through f32;
//   - populateMathPolynomialApproximationPatterns: f32 exp, expm1, log, log2,
//     log1p, tanh, erf, erfc, atan, atan2, asin, acos, sin, cos, cbrt as
//     polynomials over arith ops (+ math.fma / absf / floor / copysign, which
//     every GPU backend lowers to instructions).
// With check-target=<name> (the GPU pipelines set it), any math op left that
// needs a libm call (e.g. f64 exp) is an error naming the op, its location and
// the target -- before the rewrite, so the op named is the one the user wrote.
// Without it (host use, e.g. to measure the approximation's accuracy), ops
// without an approximation are left to the usual lowering.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace mlirboot_math {

/// Math ops every GPU backend (NVPTX, AMDGPU, SPIR-V) lowers to instructions
/// at any float width: no libm call.
static bool isNative(StringRef name) {
  static const llvm::StringSet<> native = {
      "absf", "absi", "fma", "sqrt", "rsqrt", "floor", "ceil", "trunc",
      "roundeven", "round", "copysign", "ctlz", "cttz", "ctpop", "isnan",
      "isinf", "isfinite", "isnormal"};
  return native.contains(name);
}

/// Ops the expansion patterns rewrite into others (which then get approximated).
static const char *const kExpanded[] = {"tan",  "sinh",  "cosh",  "asinh", "acosh",
                                        "atanh", "powf", "exp2", "fpowi", "clampf"};

/// Ops the polynomial approximations cover (f32, or f16/bf16 through f32).
static bool isApproximated(StringRef name) {
  static const llvm::StringSet<> approx = {
      "exp", "expm1", "log", "log2", "log1p", "tanh", "erf", "erfc", "atan",
      "atan2", "asin", "acos", "sin", "cos", "cbrt"};
  if (approx.contains(name))
    return true;
  for (const char *e : kExpanded)
    if (name == e)
      return true;
  return false;
}

/// Functions of LLVM 22's libc for GPUs (libm.bc, nvptx64 and amdgcn) that
/// MathToLibm calls, by op and width (tests/backend/test_device_math.py checks
/// libm.bc against this). Not there: f32 erfc; f64 acosh, asinh, atanh,
/// cosh, sinh, tanh, erf, erfc.
static bool inGpuLibm(StringRef name, Type t) {
  static const llvm::StringSet<> f32 = {
      "acos", "acosh", "asin",  "asinh", "atan", "atan2", "atanh", "cbrt",
      "cos",  "cosh",  "erf",   "exp",   "exp2", "expm1", "log",   "log10",
      "log1p", "log2", "powf",  "sin",   "sinh", "tan",   "tanh"};
  static const llvm::StringSet<> f64 = {
      "acos", "asin",  "atan", "atan2", "cbrt",  "cos",  "exp",  "exp2",
      "expm1", "log",  "log10", "log1p", "log2", "powf", "sin",  "tan"};
  if (t && t.isF32())
    return f32.contains(name);
  if (t && t.isF64())
    return f64.contains(name);
  return false;
}

static Type floatElementType(Operation *op) {
  for (Type t : op->getResultTypes()) {
    Type elem = getElementTypeOrSelf(t);
    if (isa<FloatType>(elem))
      return elem;
  }
  for (Type t : op->getOperandTypes()) {
    Type elem = getElementTypeOrSelf(t);
    if (isa<FloatType>(elem))
      return elem;
  }
  return {};
}

/// The op's location, or its nearest ancestor's when the op has none (a named
/// linalg op's body, e.g. linalg.exp's, is lowered to loops with unknown
/// locations; the loops carry the linalg op's).
static Location knownLoc(Operation *op) {
  for (Operation *at = op; at; at = at->getParentOp())
    if (!isa<UnknownLoc>(at->getLoc()))
      return at->getLoc();
  return op->getLoc();
}

static bool narrowFloat(Type t) { return t && (t.isF32() || t.isF16() || t.isBF16()); }

struct MathApproximationPass
    : public PassWrapper<MathApproximationPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MathApproximationPass)

  MathApproximationPass() = default;
  MathApproximationPass(const MathApproximationPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "mlirboot-math-approximation"; }
  StringRef getDescription() const final {
    return "Device math: with libm, calls to the GPU libm where it defines the "
           "function; the rest of f32 (and f16/bf16) math as polynomial "
           "approximations; with check-target, reject math ops neither covers";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, func::FuncDialect, math::MathDialect,
                    vector::VectorDialect>();
  }

  Option<std::string> checkTarget{
      *this, "check-target",
      llvm::cl::desc("device target name: math ops left without an instruction "
                     "lowering are errors naming this target"),
      llvm::cl::init("")};
  Option<bool> useLibm{
      *this, "libm",
      llvm::cl::desc("call the device libm (LLVM's libc for GPUs) for the functions "
                     "it defines; approximate only the rest"),
      llvm::cl::init(false)};

  bool fromLibm(Operation *op) const {
    return useLibm && !isNative(op->getName().stripDialect()) &&
           inGpuLibm(op->getName().stripDialect(), floatElementType(op));
  }

  /// A math op this pass can lower neither to instructions nor to libm.
  bool needsLibm(Operation *op) const {
    StringRef name = op->getName().stripDialect();
    if (isNative(name) || fromLibm(op))
      return false;
    return !(isApproximated(name) && narrowFloat(floatElementType(op)));
  }

  void runOnOperation() override {
    Operation *root = getOperation();
    if (!checkTarget.empty()) {
      bool bad = false;
      root->walk([&](Operation *op) {
        if (!isa<math::MathDialect>(op->getDialect()) || !needsLibm(op))
          return;
        Type elem = floatElementType(op);
        std::string type;
        llvm::raw_string_ostream os(type);
        if (elem)
          os << " on " << elem;
        emitError(knownLoc(op)) << "mlirboot: " << op->getName() << type
                        << " has no lowering for the " << checkTarget
                        << (useLibm ? " device (the device libm lacks it; only f32 "
                                      "and narrower math is approximated)"
                                    : " device (no device libm; f32 math is approximated)");
        bad = true;
      });
      if (bad)
        return signalPassFailure();
    }

    if (useLibm) {
      RewritePatternSet calls(&getContext());
      populateMathToLibmConversionPatterns(calls);
      ConversionTarget legal(getContext());
      legal.addLegalDialect<arith::ArithDialect, BuiltinDialect, func::FuncDialect,
                            vector::VectorDialect>();
      legal.addDynamicallyLegalDialect<math::MathDialect>(
          [this](Operation *op) { return !fromLibm(op); });
      if (failed(applyPartialConversion(root, legal, std::move(calls))))
        return signalPassFailure();
    }

    // Expansions only for f32-or-narrower ops, so an f64 op is never turned
    // into other f64 ops that nothing approximates.
    SmallVector<Operation *> toExpand;
    root->walk([&](Operation *op) {
      if (!isa<math::MathDialect>(op->getDialect()))
        return;
      StringRef name = op->getName().stripDialect();
      for (const char *e : kExpanded)
        if (name == e && narrowFloat(floatElementType(op)))
          toExpand.push_back(op);
    });
    if (!toExpand.empty()) {
      RewritePatternSet expansions(&getContext());
      math::populateExpansionPatterns(
          expansions, {"tan", "sinh", "cosh", "asinh", "acosh", "atanh", "powf",
                       "exp2", "fpowi", "clampf"});
      GreedyRewriteConfig config;
      config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
      if (failed(applyOpPatternsGreedily(toExpand, std::move(expansions), config)))
        return signalPassFailure();
    }

    RewritePatternSet patterns(&getContext());
    auto all = [](StringRef) { return true; };
    populateMathF32ExpansionPatterns(patterns, all);
    populateMathPolynomialApproximationPatterns(patterns, all);
    if (failed(applyPatternsGreedily(root, std::move(patterns))))
      return signalPassFailure();

    if (!checkTarget.empty()) {
      bool bad = false;
      root->walk([&](Operation *op) {
        if (!isa<math::MathDialect>(op->getDialect()) ||
            isNative(op->getName().stripDialect()))
          return;
        emitError(knownLoc(op)) << "mlirboot: " << op->getName()
                        << " has no lowering for the " << checkTarget
                        << (useLibm ? " device (not in the device libm; no approximation applies)"
                                    : " device (no device libm; no approximation applies)");
        bad = true;
      });
      if (bad)
        return signalPassFailure();
    }
  }
};

} // namespace mlirboot_math

void mlirboot::registerMathApproximationPass() {
  PassRegistration<mlirboot_math::MathApproximationPass>();
}
